"""Classroom tools: the chapter notebooks as nbgrader assignments.

    python -m course_lib.classroom nbgrader COURSE_DIR [--chapters 04 05] [--exercises-only]

writes an nbgrader course directory (https://nbgrader.readthedocs.io):

    COURSE_DIR/nbgrader_config.py
    COURSE_DIR/source/ch04/04_linear_regression.ipynb
    COURSE_DIR/source/ch05/05_logistic_regression.ipynb

In each notebook, every cell carries nbgrader metadata (``metadata.nbgrader``):

- an exercise's ``solution``-tagged code cell becomes a *solution cell*: each function (and
  each method of a class) keeps its signature and docstring, and its body sits between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``, which ``nbgrader generate_assignment``
  replaces with ``raise NotImplementedError()``;
- the check in the next cell becomes an *autograded test cell* worth ``points``; it calls the
  check with ``strict=True``, so a wrong answer raises and scores zero;
- a predict-and-explain question's model answer (a ``solution``-tagged markdown cell) becomes
  a *manually graded answer cell* worth ``points``; the student sees an empty answer box;
- every other cell is *locked* (read-only): nbgrader stores a checksum of it, and autograding
  puts the teacher's version back, so editing a check cannot game the grade.

``--exercises-only`` keeps only the set-up cell, the exercises section and the summary (the
cells tagged ``chapter-state``, which need the chapter's earlier state, are dropped): an
assignment that autogrades in seconds instead of running the whole chapter.

A teacher's tool: it sits beside the learner's package and imports nothing from nbgrader.
:mod:`course_lib.student_edition` is the simpler alternative without grading.
"""

from __future__ import annotations

import argparse
import ast
import copy
import io
import json
import re
import sys
import tokenize
from pathlib import Path

from course_lib.student_edition import SOLUTION_TAG

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STATE_TAG = "chapter-state"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
_CHECK_CALL = re.compile(r"^ch\d\d\.check_\w+$")

CONFIG_TEMPLATE = '''\
"""nbgrader settings for the course's assignments (written by python -m course_lib.classroom).

Run the nbgrader commands from this folder: it is the course root.
"""

c = get_config()  # noqa: F821 - nbgrader defines get_config when it reads this file

# Autograding runs each notebook top to bottom in a fresh kernel. A cell that runs longer than
# this many seconds is interrupted and recorded as a CellTimeoutError; the cells after it still
# run, so one endless loop costs only the points that depend on it.
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
# The stub that replaces a worked solution: the course's checks report it as "not done yet".
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
'''


def _source(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _header_end(source: str, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> int:
    """The (1-based) line holding the colon that ends the header of ``node``."""
    depth = 0
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for tok in tokens:
        if tok.start[0] < node.lineno or tok.type != tokenize.OP:
            continue
        if tok.string in "([{":
            depth += 1
        elif tok.string in ")]}":
            depth -= 1
        elif tok.string == ":" and depth == 0:
            return tok.start[0]
    raise ValueError(f"classroom: no end of header found for {node.name}")


def _solution_regions(source: str, node) -> list[tuple[int, int, int]]:
    """(first line, last line, indent) of each region of ``node`` to mark as the solution: the
    body of a function after its docstring, or the body of each method of a class."""
    body = node.body
    if isinstance(node, ast.ClassDef):
        methods = [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if methods:
            return [r for m in methods for r in _solution_regions(source, m)]
    has_doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
               and isinstance(body[0].value.value, str))
    rest = body[1:] if has_doc else body
    if not rest:
        raise ValueError(f"classroom: solution {node.name} has a docstring but no body")
    if rest[0].lineno == node.lineno:
        raise ValueError(f"classroom: solution {node.name} is written on one line; put its "
                         f"body on the lines below the def")
    first = body[0].end_lineno + 1 if has_doc else _header_end(source, node) + 1
    return [(first, node.end_lineno, rest[0].col_offset)]


def solution_source(source: str) -> str:
    """Mark the worked solution in the source of a ``solution``-tagged code cell.

    Each function keeps its header and docstring; the rest of its body (comments included)
    is put between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` at the body's indentation.
    A class gets one region per method. Imports stay as they are.

    Raises ``ValueError`` if the cell is not valid Python or holds top-level code other than
    imports, functions and classes (nbgrader would turn it into a stub that raises).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ValueError(f"classroom: a solution cell is not valid Python ({e})") from None
    regions = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            regions.extend(_solution_regions(source, node))
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ValueError(f"classroom: a solution cell may hold imports, functions and "
                             f"classes only, got {type(node).__name__} on line {node.lineno}: "
                             f"{ast.get_source_segment(source, node)[:60]!r}")
    if not regions:
        raise ValueError("classroom: a solution cell defines no function or class")
    lines = source.split("\n")
    for first, last, indent in sorted(regions, reverse=True):     # bottom up: indices stay valid
        pad = " " * indent
        lines[last:last] = [pad + END]
        lines[first - 1:first - 1] = [pad + BEGIN]
    return "\n".join(lines)


def graded_check_source(source: str) -> str:
    """Turn a one-line check such as ``ch04.check_ridge(ridge)`` into the autograded test
    ``ch04.check_ridge(ridge, strict=True)``, which raises on a wrong answer.

    Raises ``ValueError`` if the cell is not a single call of a ``chNN.check_*`` function.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ValueError(f"classroom: a check cell is not valid Python ({e})") from None
    call = tree.body[0].value if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) \
        else None
    if not (isinstance(call, ast.Call) and _CHECK_CALL.match(ast.unparse(call.func))):
        raise ValueError(f"classroom: expected a check cell such as `ch04.check_ridge(ridge)` "
                         f"after a solution cell, got {source.strip()[:80]!r}")
    if any(k.arg == "strict" for k in call.keywords):
        raise ValueError(f"classroom: the check already passes strict=: {source.strip()!r}")
    lines = source.split("\n")
    row, col = call.end_lineno - 1, call.end_col_offset - 1      # the closing parenthesis
    sep = ", " if call.args or call.keywords else ""
    lines[row] = lines[row][:col] + sep + "strict=True" + lines[row][col:]
    return "\n".join(lines)


def _nbgrader_meta(grade_id: str, *, solution: bool = False, grade: bool = False,
                   locked: bool = False, points: float = 0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def _section_bounds(cells: list[dict]) -> tuple[int, int]:
    """Indices of the '## Exercises' heading cell and of the next '## ' heading (or the end)."""
    start = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                  and _source(c).startswith("## Exercises")), None)
    if start is None:
        raise ValueError("classroom: the notebook has no markdown cell starting '## Exercises'")
    end = next((i for i in range(start + 1, len(cells)) if cells[i]["cell_type"] == "markdown"
                and _source(cells[i]).startswith("## ")), len(cells))
    return start, end


def nbgrader_notebook(nb: dict, *, points: float = 1, exercises_only: bool = False) -> dict:
    """Return a copy of a chapter notebook (JSON dict) as an nbgrader source notebook.

    See the module docstring for what each cell becomes. ``points`` is the value of each
    autograded check and of each predict-and-explain answer. Outputs are cleared.
    """
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError(f"classroom: expected a notebook as a dict with a 'cells' list, "
                        f"got {type(nb).__name__}")
    if not points > 0:
        raise ValueError(f"classroom: points must be positive, got {points}")
    out = copy.deepcopy(nb)
    cells = out["cells"]
    start, end = _section_bounds(cells)
    if exercises_only:
        setup = next(c for c in cells if c["cell_type"] == "code")
        keep = [cells[0], setup] + [c for c in cells[start:end] if STATE_TAG not in _tags(c)]
        cells = out["cells"] = keep + cells[end:end + 1]
        start, end = 2, len(keep)
    n_exercise = n_answer = 0
    previous_was_solution = False
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        meta = cell.setdefault("metadata", {})
        is_solution = SOLUTION_TAG in _tags(cell) and start < i < end
        if is_solution and cell["cell_type"] == "code":
            n_exercise += 1
            cell["source"] = solution_source(_source(cell))
            meta["nbgrader"] = _nbgrader_meta(f"ex{n_exercise}-solution", solution=True)
        elif is_solution:                                     # a model answer to a question
            n_answer += 1
            meta["nbgrader"] = _nbgrader_meta(f"q{n_answer}-answer", solution=True, grade=True,
                                              points=points)
        elif previous_was_solution and cell["cell_type"] == "code":
            cell["source"] = graded_check_source(_source(cell))
            meta["nbgrader"] = _nbgrader_meta(f"ex{n_exercise}-check", grade=True, locked=True,
                                              points=points)
        else:
            meta["nbgrader"] = _nbgrader_meta(f"locked-{i}", locked=True)
        previous_was_solution = is_solution and cell["cell_type"] == "code"
        if is_solution:                   # the student must see the answer cell expanded
            meta.get("jupyter", {}).pop("source_hidden", None)
            if meta.get("jupyter") == {}:
                del meta["jupyter"]
    if n_exercise == 0:
        raise ValueError("classroom: the exercises section has no solution-tagged code cell")
    return out


def _chapter_notebooks(notebooks: Path, chapters: list[str] | None) -> list[Path]:
    paths = {p.name[:2]: p for p in sorted(notebooks.glob("[0-9][0-9]_*.ipynb"))}
    if not paths:
        raise FileNotFoundError(f"classroom: no chapter notebooks (NN_topic.ipynb) in "
                                f"{notebooks}")
    if chapters is None:
        return list(paths.values())
    wanted = [f"{int(c):02d}" if str(c).isdigit() else str(c) for c in chapters]
    missing = [c for c in wanted if c not in paths]
    if missing:
        raise ValueError(f"classroom: no chapter {', '.join(missing)}; expected two-digit "
                         f"chapter numbers among {', '.join(paths)}")
    return [paths[c] for c in wanted]


def write_nbgrader_course(course_dir: str | Path, chapters: list[str] | None = None, *,
                          notebooks: str | Path = NOTEBOOKS, points: float = 1,
                          exercises_only: bool = False, timeout: int = 300) -> list[Path]:
    """Write an nbgrader course directory: ``nbgrader_config.py`` and, per chapter,
    ``source/chNN/NN_topic.ipynb``. ``chapters``: two-digit numbers such as ``["04", "05"]``
    (default: all). ``timeout``: seconds a cell may run when autograded. Returns the written
    notebook paths. An existing ``nbgrader_config.py`` is kept."""
    if not isinstance(timeout, int) or timeout <= 0:
        raise ValueError(f"classroom: timeout must be a positive number of seconds, "
                         f"got {timeout!r}")
    root, notebooks = Path(course_dir), Path(notebooks)
    if not notebooks.is_dir():
        raise FileNotFoundError(f"classroom: notebook folder {notebooks} does not exist")
    paths = _chapter_notebooks(notebooks, chapters)
    root.mkdir(parents=True, exist_ok=True)
    config = root / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG_TEMPLATE.format(timeout=timeout), encoding="utf-8")
    written = []
    for p in paths:
        nb = json.loads(p.read_text(encoding="utf-8"))
        try:
            graded = nbgrader_notebook(nb, points=points, exercises_only=exercises_only)
        except ValueError as e:
            raise ValueError(f"{p.name}: {e}") from None
        target = root / "source" / f"ch{p.name[:2]}" / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(graded, indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.classroom",
                                     description="Classroom tools for teachers.")
    sub = parser.add_subparsers(dest="command", required=True)
    nbg = sub.add_parser("nbgrader", help="write an nbgrader course directory from the "
                                          "chapter notebooks")
    nbg.add_argument("course_dir", help="the nbgrader course folder (created)")
    nbg.add_argument("--chapters", nargs="+", metavar="NN",
                     help="chapter numbers, e.g. 04 05 (default: all)")
    nbg.add_argument("--exercises-only", action="store_true",
                     help="keep only the set-up cell and the exercises section")
    nbg.add_argument("--points", type=float, default=1,
                     help="points per exercise check and per written answer (default 1)")
    nbg.add_argument("--timeout", type=int, default=300,
                     help="seconds a cell may run when autograded (default 300)")
    nbg.add_argument("--notebooks", default=str(NOTEBOOKS),
                     help="folder holding the course notebooks (default: the course's own)")
    args = parser.parse_args(argv)
    try:
        written = write_nbgrader_course(args.course_dir, args.chapters, notebooks=args.notebooks,
                                        points=args.points, exercises_only=args.exercises_only,
                                        timeout=args.timeout)
    except (OSError, ValueError) as e:
        print(e, file=sys.stderr)
        return 2
    for p in written:
        print(f"wrote {p}")
    print(f"next: cd {args.course_dir} && nbgrader generate_assignment {written[0].parent.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
