"""course_lib's import graph: every import points down the layer order, and there is no cycle.

The layers, lowest first (a module may import from its own layer or any lower one):

0. ``scratch``: the from-scratch NumPy code (tests/test_scratch_is_numpy_only.py also keeps
   it free of torch);
1. the plumbing: ``env``, ``data``, ``checks``, ``show``, ``progress`` (the learner's record
   of passed exercises), ``versions`` (the installed packages against the lock and the
   supported ranges: the check ``setup()`` prints) and ``doctor`` (``python -m
   course_lib.doctor``, built on ``env``, ``versions``, ``data`` and ``progress``);
2. ``training``: the training loops;
3. ``torch_ref``: the PyTorch reference models (they train with ``training``);
4. the pictures and controls: ``plots``, ``widgets``, ``autograd_graph``, and ``bench``
   (scratch against torch, timed, with a chart);
5. ``exercises``: the automatic checks, built on everything below;
6. tools that read whole notebooks: ``student_edition``, ``classroom`` (nbgrader).

The package root ``course_lib/__init__.py`` only re-exports (lazily) and is not ranked.
Every import counts, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "course_lib"

LAYERS: dict[str, int] = {
    "scratch": 0,
    "env": 1, "data": 1, "checks": 1, "show": 1, "progress": 1, "versions": 1,
    "doctor": 1,
    "training": 2,
    "torch_ref": 3,
    "plots": 4, "widgets": 4, "autograd_graph": 4, "bench": 4,
    "exercises": 5,
    "student_edition": 6, "classroom": 6,
}


def _unit(module: str) -> str:
    """``course_lib.scratch.conv`` -> ``scratch``; ``course_lib.env`` -> ``env``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _course_imports(path: Path) -> set[str]:
    """The course_lib modules ``path`` imports (``from course_lib.x import y`` counts as
    ``course_lib.x.y`` when y is a submodule, else ``course_lib.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("course_lib")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                node.module.startswith("course_lib"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if _is_module(sub) else node.module)
    return found


def _is_module(name: str) -> bool:
    base = PACKAGE.parent.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
GRAPH = {_module_name(p): _course_imports(p) for p in MODULES}


def test_every_module_has_a_layer():
    unranked = sorted(m for m in GRAPH if m != "course_lib" and _unit(m) not in LAYERS)
    assert not unranked, (f"{unranked} belong to no layer: add them to LAYERS in "
                          f"{Path(__file__).name} (and to the docstring)")


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "course_lib"))
def test_imports_point_down_the_layers(module):
    own = LAYERS[_unit(module)]
    upward = sorted(dep for dep in GRAPH[module]
                    if dep != "course_lib" and LAYERS.get(_unit(dep), -1) > own)
    assert not upward, (f"{module} (layer {own}) imports {upward} from a higher layer; "
                        f"move the shared code down instead")
    assert "course_lib" not in GRAPH[module] or module == "course_lib", (
        f"{module} imports the package root; import the module that holds the name")


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of nodes, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep in graph and not state.get(dep):
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if not state.get(node):
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    # a package's __init__ that re-exports its own submodules is not a cycle of its own
    graph = {m: {d for d in deps if not (d.startswith(m + ".") and _is_package(m))}
             for m, deps in GRAPH.items()}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _is_package(name: str) -> bool:
    return (PACKAGE.parent.joinpath(*name.split(".")) / "__init__.py").exists()


def test_no_module_imports_another_modules_private_names():
    bad = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("course_lib"):
                bad += [f"{_module_name(path)}: from {node.module} import {a.name}"
                        for a in node.names
                        if a.name.startswith("_") and not _is_module(f"{node.module}.{a.name}")]
    assert not bad, "private names imported across modules:\n" + "\n".join(bad)


def test_the_checks_would_catch_a_bad_graph():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert LAYERS[_unit("course_lib.torch_ref.mlp")] > LAYERS[_unit("course_lib.training")]
    assert _unit("course_lib.scratch.conv") == "scratch"
