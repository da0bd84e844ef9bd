"""Test-suite settings shared by the unit tests and the notebooks run under nbval.

The environment variables below are set before any notebook kernel starts, so the
kernels inherit them:

- COURSE_STRICT_CHECKS=1: a failed exercise check raises, so the worked solutions are tested;
- COURSE_LIVE_PLOTS=0: training curves are drawn once at the end instead of every epoch;
- MPLBACKEND=Agg for the unit tests (the kernels use the inline backend regardless);
- one CPU thread per worker and kernel when the tests run on several processes (pytest-xdist).

At the end of the run the wall time of each notebook is printed. Each notebook has a time
budget, the bar its issue set, in its metadata (``"course": {"time_budget_s": 60}``; 45 s when
absent); a notebook slower than its budget on a 2-core CPU fails the run. Set
COURSE_NOTEBOOK_BUDGET_SCALE (e.g. 3) on a slower machine.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from functools import cache

os.environ["COURSE_STRICT_CHECKS"] = "1"
os.environ["COURSE_LIVE_PLOTS"] = "0"
os.environ.setdefault("MPLBACKEND", "Agg")

# Under pytest-xdist (``-n 2`` in pyproject.toml) two workers share the CPU. Two BLAS/OpenMP
# thread pools of two threads each on two cores slow each other down many times over, so each
# worker, and every notebook kernel it starts (they inherit the environment), uses one thread.
# Set here, before the test modules import NumPy or PyTorch.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "COURSE_THREADS"):
        os.environ.setdefault(_var, "1")

_notebook_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


DEFAULT_BUDGET_S = 45.0


@cache
def notebook_budget(path: str) -> float:
    """The time budget of a notebook in seconds: its metadata's course.time_budget_s."""
    try:
        meta = json.loads(open(path, encoding="utf-8").read()).get("metadata", {})
    except (OSError, ValueError):
        return DEFAULT_BUDGET_S
    scale = float(os.environ.get("COURSE_NOTEBOOK_BUDGET_SCALE", "1"))
    return float(meta.get("course", {}).get("time_budget_s", DEFAULT_BUDGET_S)) * scale


def _over_budget() -> list[tuple[str, float]]:
    return [(p, s) for p, s in sorted(_notebook_seconds.items()) if s > notebook_budget(p)]


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    tr = terminalreporter
    tr.section("notebook run times")
    for path, seconds in sorted(_notebook_seconds.items()):
        tr.write_line(f"{seconds:7.1f} s  (budget {notebook_budget(path):.0f} s)  {path}")
    for path, seconds in _over_budget():
        tr.write_line(f"TOO SLOW: {path} took {seconds:.1f} s, over its budget of "
                      f"{notebook_budget(path):.0f} s (metadata course.time_budget_s)")


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _over_budget():
        session.exitstatus = 1
