"""The benchmark command runs and prints a well-formed table; no timing is asserted."""

import re

import numpy as np
import pytest

from course_lib import bench


def test_time_pair_returns_medians_and_spread():
    r = bench.time_pair(lambda: np.ones(10).sum(), lambda: np.ones(20).sum(), repeats=3,
                        min_seconds=0.0)
    assert set(r) == {"scratch_ms", "torch_ms", "ratio", "ratio_lo", "ratio_hi", "repeats"}
    assert r["repeats"] == 3 and r["scratch_ms"] > 0 and r["torch_ms"] > 0
    assert r["ratio_lo"] <= r["ratio_hi"] and np.isfinite(r["ratio"])
    with pytest.raises(ValueError, match="repeats"):
        bench.time_pair(lambda: None, lambda: None, repeats=0)


def test_quick_run_gives_a_well_formed_table():
    rows = bench.run_benchmarks(quick=True, passes=(True,), repeats=1, threads=1)
    assert len(rows) == 2 * len(bench.QUICK_CASES)          # float32 and float64, fwd+bwd
    names = {r["name"] for r in rows}
    assert {"conv2d", "max_pool2d", "lstm", "gru", "attention", "multi-head attention",
            "batchnorm", "layernorm", "MLP step"} <= names
    table = bench.markdown_table(rows).splitlines()
    assert len(table) == 2 + len(rows)
    assert all(line.startswith("|") and line.endswith("|") and line.count("|") == 9
               for line in table)
    assert re.fullmatch(r"\|(---:?\|){8}", table[1])
    for line, row in zip(table[2:], rows, strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[:4] == [row["name"], row["shape"], row["dtype"], row["pass"]]
        assert float(cells[6].rstrip("×")) > 0


def test_command_line_prints_threads_table_and_writes_the_chart(tmp_path, capsys):
    png = tmp_path / "ratios.png"
    rows = bench.main(["--quick", "--plot", str(png), "--dtype", "float32", "--repeats", "1",
                       "--threads", "1", "--only", "conv2d"])
    out = capsys.readouterr().out
    assert "threads: NumPy BLAS" in out and "PyTorch intra-op" in out
    assert out.count("| conv2d |") == len(rows) == 2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_case_refuses_an_unknown_dtype():
    with pytest.raises(ValueError, match="dtype"):
        bench.run_case(bench.QUICK_CASES[0], dtype="float16")
