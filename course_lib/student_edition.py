"""Write the student edition of the notebooks: every worked solution replaced by a stub.

    python -m course_lib.student_edition OUTDIR [--notebooks notebooks]

A solution cell carries the tag ``solution``. In the student edition each function (or
class) it defines keeps its signature and docstring, and its body becomes

    # YOUR CODE HERE
    raise NotImplementedError

so the check in the next cell reports "not done yet" instead of crashing. Assignments
become ``name = None  # YOUR CODE HERE``; imports are kept; anything else is dropped.

A *markdown* cell tagged ``solution`` holds the model answer to a predict-or-explain
question; the student edition replaces it with an empty answer box (:data:`ANSWER_BOX`).

Outputs are stripped and the stub cells are shown expanded, tagged ``exercise``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import sys
from pathlib import Path

SOLUTION_TAG = "solution"
STUB_TAG = "exercise"
STUB_BODY = "# YOUR CODE HERE\nraise NotImplementedError"
ANSWER_BOX = "**Your answer.** *(double-click to write your prediction and explanation here)*"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.split("\n"))


def _stub_def(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, lines: list[str],
              prefix: str = "") -> str:
    """The header (decorators, signature) and docstring of ``node`` with a stub body."""
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    body = node.body
    has_doc = (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
               and isinstance(body[0].value.value, str))
    header = "\n".join(lines[first - 1: body[0].lineno - 1])
    # A one-line def such as `def f(x): return x` has its body on the header line.
    if body[0].lineno == node.lineno:
        header = lines[node.lineno - 1][: body[0].col_offset].rstrip()
    inner = body[0].col_offset if body[0].lineno != node.lineno else node.col_offset + 4
    pad = " " * inner
    parts = [header]
    if has_doc:
        parts.append("\n".join(lines[body[0].lineno - 1: body[0].end_lineno]))
    if isinstance(node, ast.ClassDef):
        methods = [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for m in methods:
            parts.append(_stub_def(m, lines))
        if not methods:
            parts.append(_indent(STUB_BODY, pad))
    else:
        parts.append(_indent(STUB_BODY, pad))
    return "\n".join(parts)


def stub_source(source: str) -> str:
    """Turn the source of a solution cell into the learner's stub (see the module docstring).

    Raises ``ValueError`` if the cell is not valid Python.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ValueError(f"student_edition: a solution cell is not valid Python ({e})") from None
    lines = source.split("\n")
    pieces = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            pieces.append(ast.get_source_segment(source, node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            pieces.append(_stub_def(node, lines))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = ", ".join(ast.get_source_segment(source, t) for t in targets)
            pieces.append(f"{names} = None  # YOUR CODE HERE")
    return "\n\n\n".join(pieces) if pieces else "# YOUR CODE HERE"


def student_notebook(nb: dict) -> dict:
    """Return a copy of a notebook (as JSON dict) with solution cells stubbed, outputs cleared."""
    out = copy.deepcopy(nb)
    for cell in out.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        tags = cell.get("metadata", {}).get("tags", [])
        if SOLUTION_TAG in tags and cell.get("cell_type") in ("code", "markdown"):
            if cell["cell_type"] == "code":
                src = cell["source"] if isinstance(cell["source"], str) \
                    else "".join(cell["source"])
                cell["source"] = stub_source(src)
            else:
                cell["source"] = ANSWER_BOX
            meta = cell["metadata"]
            meta["tags"] = [STUB_TAG if t == SOLUTION_TAG else t for t in tags]
            meta.get("jupyter", {}).pop("source_hidden", None)
            if meta.get("jupyter") == {}:
                del meta["jupyter"]
    return out


def write_student_edition(outdir: str | Path, notebooks: str | Path = "notebooks") -> list[Path]:
    """Write the student edition of every ``*.ipynb`` in ``notebooks`` into ``outdir``.

    Returns the written paths. ``outdir`` is created; it must not be the source folder.
    """
    src, dst = Path(notebooks), Path(outdir)
    if not src.is_dir():
        raise FileNotFoundError(f"student_edition: notebook folder {src} does not exist")
    if dst.resolve() == src.resolve():
        raise ValueError("student_edition: OUTDIR must differ from the notebook folder")
    paths = sorted(p for p in src.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"student_edition: no .ipynb files in {src}")
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for p in paths:
        nb = json.loads(p.read_text(encoding="utf-8"))
        target = dst / p.name
        target.write_text(json.dumps(student_notebook(nb), indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.student_edition",
        description="Write the notebooks with every solution cell replaced by a stub.")
    parser.add_argument("outdir", help="folder for the student edition (created)")
    parser.add_argument("--notebooks", default=str(Path(__file__).resolve().parent.parent
                                                   / "notebooks"),
                        help="folder holding the course notebooks (default: the course's own)")
    args = parser.parse_args(argv)
    try:
        written = write_student_edition(args.outdir, args.notebooks)
    except (OSError, ValueError) as e:
        print(e, file=sys.stderr)
        return 2
    for p in written:
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
