"""The student edition: solutions become stubs, nothing of the solution code survives,
and the exercise sections still run, with the checks saying "not done yet"."""

import ast
import json
import os
from pathlib import Path

import pytest

from course_lib.student_edition import (
    ANSWER_BOX,
    main,
    stub_source,
    student_notebook,
    write_student_edition,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _source(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def test_stub_source_keeps_signature_and_docstring():
    src = ('import numpy as np\n\n'
           'def f(a, b=2):\n    """Add."""\n    c = a + b\n    return c\n\n'
           'def g(x): return x * 2\n\n'
           'K = np.eye(3)\nprint("side effect")\n')
    stub = stub_source(src)
    tree = ast.parse(stub)
    f, g = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert ast.get_docstring(f) == "Add."
    assert [a.arg for a in f.args.args] == ["a", "b"]
    for fn in (f, g):
        assert isinstance(fn.body[-1], ast.Raise)
    assert "# YOUR CODE HERE" in stub and "return" not in stub and "print" not in stub
    assert "K = None  # YOUR CODE HERE" in stub and "import numpy as np" in stub


def test_stub_source_rejects_bad_python():
    with pytest.raises(ValueError, match="not valid Python"):
        stub_source("def f(:\n")


def test_student_notebook_strips_outputs_and_tags():
    nb = {"cells": [
        {"cell_type": "code",
         "metadata": {"tags": ["solution"], "jupyter": {"source_hidden": True}},
         "source": "def f(x):\n    return x\n", "outputs": [{"x": 1}], "execution_count": 3},
        {"cell_type": "code", "metadata": {}, "source": "check(f)", "outputs": [],
         "execution_count": 4},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = student_notebook(nb)
    first = out["cells"][0]
    assert first["metadata"] == {"tags": ["exercise"]}
    assert "raise NotImplementedError" in first["source"] and first["outputs"] == []
    assert out["cells"][1]["execution_count"] is None
    assert nb["cells"][0]["outputs"]  # the original is untouched


def test_model_answers_become_empty_answer_boxes():
    answer = "**Model answer.** The loss diverges, because the step exceeds 2/L."
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "**Predict and explain.** Why?"},
        {"cell_type": "markdown",
         "metadata": {"tags": ["solution"], "jupyter": {"source_hidden": True}},
         "source": answer},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = student_notebook(nb)
    assert out["cells"][0] == nb["cells"][0]
    assert out["cells"][1]["source"] == ANSWER_BOX and "diverges" not in ANSWER_BOX
    assert out["cells"][1]["metadata"] == {"tags": ["exercise"]}
    assert nb["cells"][1]["source"] == answer      # the original is untouched


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_solution_code_in_student_edition(path, tmp_path):
    write_student_edition(tmp_path, ROOT / "notebooks")
    original = json.loads(path.read_text(encoding="utf-8"))
    student = json.loads((tmp_path / path.name).read_text(encoding="utf-8"))
    assert len(original["cells"]) == len(student["cells"])
    for before, after in zip(original["cells"], student["cells"], strict=True):
        if "solution" not in before.get("metadata", {}).get("tags", []):
            assert _source(before) == _source(after)
            continue
        assert "solution" not in after["metadata"]["tags"]
        if before["cell_type"] == "markdown":              # a model answer: an empty box
            assert _source(after) == ANSWER_BOX
            continue
        for node in ast.walk(ast.parse(_source(after))):
            if isinstance(node, ast.FunctionDef):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                assert len(body) == 1 and isinstance(body[0], ast.Raise), (
                    f"{path.name}: stub of {node.name} keeps solution code")
        solution_lines = {ln.strip() for ln in _source(before).splitlines()
                          if ln.strip() and not ln.strip().startswith(("def ", "class ", '"""', "#",
                                                                       "import", "from"))}
        leaked = solution_lines & {ln.strip() for ln in _source(after).splitlines()}
        leaked -= {'"""', "raise NotImplementedError"}
        docstring = ast.get_docstring(ast.parse(_source(before)).body[0]) or ""
        assert all(line in docstring for line in leaked), f"{path.name}: leaked {leaked}"


def test_cli(tmp_path, capsys):
    assert main([str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert main([str(tmp_path / "x"), "--notebooks", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _exercise_cells(nb):
    """The set-up cell, then every code cell of the '## Exercises' section, except the
    experiment cells tagged ``chapter-state``: they use a model trained earlier in the
    chapter (a learner has it, having run the chapter) and are run by nbval in order."""
    cells = nb["cells"]
    setup = next(c for c in cells if c["cell_type"] == "code")
    start = next(i for i, c in enumerate(cells)
                 if c["cell_type"] == "markdown" and _source(c).startswith("## Exercises"))
    section = []
    for c in cells[start + 1:]:
        if c["cell_type"] == "markdown" and _source(c).startswith("## "):
            break
        if c["cell_type"] == "code" and \
                "chapter-state" not in c.get("metadata", {}).get("tags", []):
            section.append(c)
    return [setup, *section]


@pytest.fixture(scope="module")
def student_run(tmp_path_factory):
    """Run the exercise sections of every chapter's student edition, in one kernel.

    One kernel instead of one per chapter saves its start and the import of torch (about 5 s
    each). Each chapter starts with ``%reset -f``, which empties the namespace (so a chapter
    cannot use a name defined by another) while the imported modules stay loaded; then its
    set-up cell (which reseeds) and its exercise cells run. Errors are recorded, not raised,
    so that each chapter's test reports its own. Returns (executed notebook, {name: (first,
    end) cell indices of the chapter's cells}).
    """
    import nbformat
    from nbclient import NotebookClient

    out = tmp_path_factory.mktemp("student")
    write_student_edition(out, ROOT / "notebooks")
    cells, spans = [], {}
    for path in NOTEBOOKS:
        student = json.loads((out / path.name).read_text(encoding="utf-8"))
        chapter = nbformat.reads(json.dumps({**student, "cells": _exercise_cells(student)}),
                                 as_version=4).cells
        cells.append(nbformat.v4.new_code_cell("%reset -f"))
        spans[path.name] = (len(cells), len(cells) + len(chapter))
        cells.extend(chapter)
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"                  # unique across the chapters
    nb = nbformat.v4.new_notebook(cells=cells, metadata=student["metadata"])
    env_before = os.environ.get("COURSE_STRICT_CHECKS")
    os.environ["COURSE_STRICT_CHECKS"] = "0"  # a learner's kernel, not the test suite's
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    finally:
        os.environ["COURSE_STRICT_CHECKS"] = env_before or "1"
    return nb, spans


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_exercises_run_and_report_not_done(path, student_run):
    """A learner who runs the exercise section of the student edition gets verdicts, not errors."""
    nb, spans = student_run
    first, end = spans[path.name]
    cells = nb.cells[first:end]
    errors = [f"{o.get('ename')}: {o.get('evalue')}\n{''.join(c.source)[:200]}"
              for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, "\n\n".join(errors)
    text = "".join(o.get("text", "") for c in cells for o in c.get("outputs", []))
    n_stubs = sum("exercise" in c.metadata.get("tags", []) for c in cells)
    assert n_stubs >= (1 if path.name.startswith("00") else 3)
    assert text.count("not done yet") >= n_stubs, text
