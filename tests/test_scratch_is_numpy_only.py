"""course_lib/scratch may import NumPy and the standard library only (never torch)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SCRATCH = Path(__file__).resolve().parent.parent / "course_lib" / "scratch"
MODULES = sorted(SCRATCH.glob("*.py"))
ALLOWED_THIRD_PARTY = {"numpy"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_scratch_module_imports_only_numpy(path):
    roots = _imported_roots(path) - {"__future__", "course_lib"}
    foreign = {r for r in roots if r not in sys.stdlib_module_names} - ALLOWED_THIRD_PARTY
    assert not foreign, f"{path.name} imports {sorted(foreign)}; scratch/ allows NumPy only"


def test_scratch_course_lib_imports_stay_in_scratch():
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("course_lib") and node.level == 0:
                assert node.module.startswith("course_lib.scratch"), (
                    f"{path.name} imports {node.module}; scratch/ may only use scratch/")


def test_importing_every_scratch_module_loads_no_torch():
    names = [f"course_lib.scratch.{p.stem}" for p in MODULES if p.stem != "__init__"]
    code = ("import importlib, sys\n"
            f"for n in {names!r}: importlib.import_module(n)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib'))\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_rule_would_catch_a_torch_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np\nfrom torch import nn\n")
    assert "torch" in _imported_roots(bad)
