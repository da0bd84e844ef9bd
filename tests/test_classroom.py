"""The chapter notebooks as nbgrader assignments (course_lib.classroom), graded by real nbgrader.

The unit tests check the conversion of every chapter. The integration test writes a course,
runs ``nbgrader generate_assignment`` on chapters 01 and 03 and ``nbgrader autograde`` on four
hand-made submissions, reads the scores back from nbgrader's gradebook, and exports them with
the ``nbgrader export`` command. To stay within seconds it grades *exercise-only* assignments
(the set-up cell and the exercises section, ``--exercises-only``), not whole chapters; a whole
chapter (04) is only generated. generate and autograde run in-process through nbgrader's Python
API (what its commands call), each submission in its own fresh kernel as nbgrader does.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.classroom import (
    BEGIN,
    END,
    graded_check_source,
    main,
    nbgrader_notebook,
    solution_source,
)

# nbgrader's own use of SQLAlchemy warns about its session handling; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Object of type .* not in session")

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _source(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _unmark(source):
    return "\n".join(ln for ln in source.split("\n") if ln.strip() not in (BEGIN, END))


# ------------------------------------------------------------------------- the conversion

def test_solution_source_marks_each_body_after_its_docstring():
    src = ('import math\n\n\n'
           'def f(x,\n      y):\n    """Doc."""\n    # the idea\n    return x\n\n\n'
           'def g(x) -> float:\n    return math.sin(x)\n\n\n'
           'class M:\n    """A class."""\n\n    def __init__(self):\n        self.a = 1\n')
    out = solution_source(src)
    assert _unmark(out) == src
    assert out.count(BEGIN) == out.count(END) == 3
    assert ('    """Doc."""\n    ### BEGIN SOLUTION\n    # the idea\n    return x\n'
            '    ### END SOLUTION') in out
    assert "def g(x) -> float:\n    ### BEGIN SOLUTION\n    return math.sin(x)\n" in out
    assert "        ### BEGIN SOLUTION\n        self.a = 1\n        ### END SOLUTION" in out
    assert out.startswith("import math\n")


@pytest.mark.parametrize("bad, message", [
    ("def f(:\n", "not valid Python"),
    ("x = 1\n", "imports, functions and classes only"),
    ("def f(x): return x\n", "on one line"),
    ("import numpy\n", "defines no function"),
])
def test_solution_source_rejects_what_it_cannot_mark(bad, message):
    with pytest.raises(ValueError, match=message):
        solution_source(bad)


def test_graded_check_source_makes_the_check_raise():
    assert graded_check_source("ch04.check_ridge(ridge)") == "ch04.check_ridge(ridge, strict=True)"
    with pytest.raises(ValueError, match="expected a check cell"):
        graded_check_source("print(ridge(1, 2))")
    with pytest.raises(ValueError, match="already passes strict"):
        graded_check_source("ch04.check_ridge(ridge, strict=False)")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_converts(path):
    nb = _load(path)
    out = nbgrader_notebook(nb)
    assert len(out["cells"]) == len(nb["cells"])
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in out["cells"]]
    assert len(set(ids)) == len(ids)
    n_solutions = 0
    for before, after in zip(nb["cells"], out["cells"], strict=True):
        meta = after["metadata"]["nbgrader"]
        if "solution" in before["metadata"].get("tags", []):
            assert meta["solution"] and not meta["locked"]
            assert "source_hidden" not in after["metadata"].get("jupyter", {})
            if before["cell_type"] == "code":
                n_solutions += 1
                assert _unmark(_source(after)) == _source(before)
                assert not meta["grade"] and BEGIN in _source(after)
            else:                                       # a predict-and-explain answer
                assert meta["grade"] and meta["points"] == 1
                assert _source(after) == _source(before)
        elif meta["grade"]:                             # an autograded check
            assert meta["locked"] and meta["points"] == 1 and not meta["solution"]
            call = ast.parse(_source(after)).body[0].value
            assert any(k.arg == "strict" and k.value.value is True for k in call.keywords)
            assert re.fullmatch(r"ch\d\d\.check_\w+", ast.unparse(call.func))
        else:
            assert meta["locked"] and not meta["solution"]
            assert _source(after) == _source(before)
    n_checks = sum(c["cell_type"] == "code" and c["metadata"]["nbgrader"]["grade"]
                   for c in out["cells"])
    assert n_solutions == n_checks >= (3 if path.name[:2] != "00" else 1)


def test_exercises_only_keeps_setup_and_exercises_without_chapter_state():
    nb = _load(ROOT / "notebooks" / "08_cnn_basics.ipynb")
    out = nbgrader_notebook(nb, exercises_only=True)
    sources = [_source(c) for c in out["cells"]]
    assert "setup(" in sources[1] and sources[2].startswith("## Exercises")
    assert sources[-1].startswith("## Summary")
    assert not any("chapter-state" in c["metadata"].get("tags", []) for c in out["cells"])
    assert sum(c["metadata"]["nbgrader"]["grade"] for c in out["cells"]) == 4 + 1


def test_bad_input_gives_clear_errors(tmp_path, capsys):
    with pytest.raises(TypeError, match="expected a notebook"):
        nbgrader_notebook([])
    with pytest.raises(ValueError, match="no markdown cell starting '## Exercises'"):
        nbgrader_notebook({"cells": []})
    with pytest.raises(ValueError, match="points must be positive"):
        nbgrader_notebook(_load(CHAPTERS[1]), points=0)
    assert main(["nbgrader", str(tmp_path / "c"), "--chapters", "99"]) == 2
    assert "no chapter 99" in capsys.readouterr().err
    assert main(["nbgrader", str(tmp_path / "c"), "--notebooks", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------- real nbgrader, four students

def _notebook_file(course, kind, assignment, student=None):
    folder = course / kind / (student or "") / assignment
    return next(folder.glob("*.ipynb"))


def _cell(nb, grade_id):
    return next(c for c in nb["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def _submit(course, assignment, student, edit):
    """Copy the released notebook, let ``edit(nb, worked)`` change it (``worked``: grade id of a
    solution cell -> the worked solution), and hand it in as ``student``."""
    released = _notebook_file(course, "release", assignment)
    nb = _load(released)
    source = _load(course / "source" / assignment / released.name)
    worked = {c["metadata"]["nbgrader"]["grade_id"]: _unmark(_source(c))
              for c in source["cells"] if c["metadata"]["nbgrader"]["solution"]}
    edit(nb, worked)
    target = course / "submitted" / student / assignment / released.name
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(nb), encoding="utf-8")


def _solve(nb, worked, *exercises):
    for k in exercises:
        _cell(nb, f"ex{k}-solution")["source"] = worked[f"ex{k}-solution"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Write a course (chapters 01 and 03, exercises only; chapter 04 whole), generate the
    assignments and autograde four submissions. Returns (course folder, {student: log})."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config, PyFileConfigLoader

    course = tmp_path_factory.mktemp("course")
    assert main(["nbgrader", str(course), "--chapters", "01", "03", "--exercises-only",
                 "--timeout", "120"]) == 0
    assert main(["nbgrader", str(course), "--chapters", "04"]) == 0
    saved = dict(os.environ)
    # nbgrader runs the `alembic` command of its environment; the kernels (which inherit this
    # environment) run as a student's would: one thread, checks not strict unless the test
    # cell says so.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    os.environ.update(OMP_NUM_THREADS="1", COURSE_THREADS="1", COURSE_STRICT_CHECKS="0")
    os.environ.pop("COURSE_PROGRESS_FILE", None)
    try:
        def api(**execute):
            # The course's nbgrader_config.py, as the command-line tools read it, then ours.
            cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
            assert cfg.Execute.timeout == 120 and cfg.Execute.interrupt_on_timeout
            cfg.merge(Config(CourseDirectory={"root": str(course)}, Execute=execute,
                             Exchange={"root": str(course / "exchange")}))
            return NbGraderAPI(CourseDirectory(config=cfg), config=cfg)

        # The set-up cell imports torch (seconds); every other cell takes well under one.
        # A short timeout for the rest makes the endless loop cost 3 s, not the default 120.
        teacher = api(timeout_func=lambda cell: 120 if "setup(" in cell.source else 3)
        for assignment in ("ch01", "ch03", "ch04"):
            result = teacher.generate_assignment(assignment)
            assert result["success"], result["log"]

        def locked_check_edited(nb, worked):
            _cell(nb, "ex1-check")["source"] = 'print("all tests passed")'

        def worked_and_answered(nb, worked):
            _solve(nb, worked, 1, 2, 3, 4)
            _cell(nb, "q1-answer")["source"] = "The first guess was wrong, because ..."

        def loop_and_raise(nb, worked):
            _solve(nb, worked, 1, 3, 4, 5)
            attempt = _cell(nb, "ex2-solution")           # an attempt that never returns
            attempt["source"] = _source(attempt).replace("raise NotImplementedError()",
                                                          "while True:\n        pass")
            i = nb["cells"].index(_cell(nb, "ex1-check"))
            nb["cells"].insert(i + 1, {"cell_type": "code", "metadata": {"tags": ["extra"]},
                                       "outputs": [], "execution_count": None,
                                       "source": 'raise RuntimeError("an unrelated mistake")'})

        submissions = {
            ("ch01", "alice"): worked_and_answered,
            ("ch01", "dave"): locked_check_edited,
            ("ch03", "bob"): lambda nb, worked: _solve(nb, worked, 3, 4, 5),
            ("ch03", "carol"): loop_and_raise,
        }
        logs = {}
        for (assignment, student), edit in submissions.items():
            _submit(course, assignment, student, edit)
            result = teacher.autograde(assignment, student)
            assert result["success"], result["log"]
            logs[student] = result["log"]
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return course, logs


def _gradebook(course):
    from nbgrader.api import Gradebook
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def _auto_scores(gb, assignment, student):
    """{grade id: automatic score} of the code test cells of a submission, and the submission."""
    notebook = {"ch01": "01_linear_algebra", "ch03": "03_probability_information"}[assignment]
    submission = gb.find_submission_notebook(notebook, assignment, student)
    return {g.name: g.auto_score for g in submission.grades if g.cell_type == "code"}, submission


@pytest.mark.slow
def test_worked_solutions_get_full_points(graded):
    course, _ = graded
    with _gradebook(course) as gb:
        scores, submission = _auto_scores(gb, "ch01", "alice")
        assert scores == {f"ex{k}-check": 1.0 for k in (1, 2, 3, 4)}
        answer = gb.find_grade("q1-answer", "01_linear_algebra", "ch01", "alice")
        assert answer.auto_score is None and answer.needs_manual_grade   # for the teacher
        assert gb.find_assignment("ch01").max_score == 4 + 1


def _ch03_result(course, student: str) -> tuple[dict[str, float], dict]:
    """The auto scores of ``student``'s chapter-03 submission and its autograded notebook."""
    with _gradebook(course) as gb:
        scores, _ = _auto_scores(gb, "ch03", student)
    return scores, _load(_notebook_file(course, "autograded", "ch03", student))


def _error_names(cell: dict) -> list[str]:
    return [o["ename"] for o in cell["outputs"] if o["output_type"] == "error"]


@pytest.mark.slow
def test_stubs_score_zero_and_the_rest_is_graded(graded):
    scores, autograded = _ch03_result(graded[0], "bob")
    assert scores == {"ex1-check": 0.0, "ex2-check": 0.0, "ex3-check": 1.0, "ex4-check": 1.0,
                      "ex5-check": 1.0}
    assert _error_names(_cell(autograded, "ex1-check")) == ["ExerciseFailed"]


@pytest.mark.slow
def test_an_error_and_an_endless_loop_are_recorded_and_block_nothing(graded):
    scores, autograded = _ch03_result(graded[0], "carol")
    assert scores == {"ex1-check": 1.0, "ex2-check": 0.0, "ex3-check": 1.0, "ex4-check": 1.0,
                      "ex5-check": 1.0}
    extra = next(c for c in autograded["cells"] if "extra" in c["metadata"].get("tags", []))
    assert _error_names(extra) == ["RuntimeError"]
    # after a KeyboardInterrupt
    assert "CellTimeoutError" in _error_names(_cell(autograded, "ex2-check"))


@pytest.mark.slow
def test_an_edited_check_is_caught_by_the_checksum(graded):
    course, logs = graded
    assert re.search(r"Attribute 'checksum' for cell ex1-check has changed", logs["dave"])
    with _gradebook(course) as gb:
        scores, _ = _auto_scores(gb, "ch01", "dave")
    assert scores == {f"ex{k}-check": 0.0 for k in (1, 2, 3, 4)}
    autograded = _load(_notebook_file(course, "autograded", "ch01", "dave"))
    assert "strict=True" in _source(_cell(autograded, "ex1-check"))    # the teacher's check


@pytest.mark.slow
def test_whole_chapter_generates_and_nbgrader_export_writes_the_csv(graded, tmp_path):
    course, _ = graded
    released = _load(_notebook_file(course, "release", "ch04"))
    assert len(released["cells"]) == len(_load(ROOT / "notebooks" / "04_linear_regression.ipynb")
                                         ["cells"])
    stubs = [_source(c) for c in released["cells"] if c["metadata"]["nbgrader"]["solution"]]
    assert sum("raise NotImplementedError()" in s for s in stubs) == 4
    assert not any("np.linalg.solve" in s for s in stubs)
    # The teacher's last command, as a command: it reads the course's nbgrader_config.py.
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "nbgrader"), "export", "--to", str(tmp_path / "grades.csv")],
                   cwd=course, check=True, capture_output=True, timeout=120,
                   env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    with open(tmp_path / "grades.csv", newline="") as f:
        rows = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(f)}
    assert rows[("ch01", "alice")] == 4.0 and rows[("ch01", "dave")] == 0.0
    assert rows[("ch03", "bob")] == 3.0 and rows[("ch03", "carol")] == 4.0
