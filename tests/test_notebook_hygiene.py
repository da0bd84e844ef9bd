"""Every chapter follows the house conventions (see the README, "For contributors")."""

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK_CALL = re.compile(r"\bcheck_\w+\(")


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _src(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
class TestNotebook:
    def test_name_and_valid_format(self, path):
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name
        nbformat.validate(nbformat.read(path, as_version=4))

    def test_outputs_stripped(self, path):
        for i, cell in enumerate(_load(path)["cells"]):
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [], f"cell {i} has stored outputs"
                assert cell.get("execution_count") is None, f"cell {i} has an execution count"

    def test_title_cell(self, path):
        first = _load(path)["cells"][0]
        assert first["cell_type"] == "markdown"
        title = _src(first).splitlines()[0]
        assert re.fullmatch(rf"# {path.name[:2]} · .+ \(.+\)", title), (
            f"title must look like '# {path.name[:2]} · Topic (中文)', got {title!r}")
        text = _src(first).lower()
        assert "prerequisite" in text and "run time" in text

    def test_one_setup_cell_first(self, path):
        code = [c for c in _load(path)["cells"] if c["cell_type"] == "code"]
        assert re.search(r"\bsetup\(", _src(code[0])), "the first code cell must call setup()"
        assert sum(bool(re.search(r"\bsetup\(", _src(c))) for c in code) == 1

    def test_exercises_with_checks_and_hidden_solutions(self, path):
        cells = _load(path)["cells"]
        headings = [_src(c).splitlines()[0] for c in cells
                    if c["cell_type"] == "markdown" and _src(c).startswith("## ")]
        assert "## Exercises" in headings and "## Summary" in headings
        solutions = [i for i, c in enumerate(cells) if "solution" in c["metadata"].get("tags", [])]
        minimum = 1 if path.name.startswith("00") else 3
        assert len(solutions) >= minimum, f"{len(solutions)} exercises, need {minimum}"
        for i in solutions:
            assert cells[i]["cell_type"] == "code"
            assert cells[i]["metadata"].get("jupyter", {}).get("source_hidden") is True, (
                f"solution cell {i} must be collapsed (jupyter.source_hidden)")
            nxt = cells[i + 1]
            assert nxt["cell_type"] == "code" and CHECK_CALL.search(_src(nxt)), (
                f"solution cell {i} must be followed by a cell calling a check_* function")

    def test_listed_in_readme_and_welcome(self, path):
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        assert f"(notebooks/{path.name})" in readme
        if not path.name.startswith("00"):
            welcome = (ROOT / "notebooks" / "00_welcome.ipynb").read_text(encoding="utf-8")
            assert f"]({path.name})" in welcome, f"00_welcome's course map must link {path.name}"
