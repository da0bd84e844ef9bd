"""Every chapter follows the house conventions (see the README, "For contributors")."""

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECK_CALL = re.compile(r"\bcheck_\w+\(")
QUESTION = re.compile(r"\*\*(Predict and explain|Experiment)\.\*\*")


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

    def test_no_control_characters(self, path):
        # "\approx" or "\frac" written in a normal Python string become \a or \f: the
        # formula then breaks in MathJax
        for i, cell in enumerate(_load(path)["cells"]):
            bad = sorted({repr(ch) for ch in _src(cell) if ord(ch) < 32 and ch not in "\n"})
            assert not bad, f"cell {i} holds control characters {bad}"

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
        code = [i for i in solutions if cells[i]["cell_type"] == "code"]
        minimum = 1 if path.name.startswith("00") else 3
        assert len(code) >= minimum, f"{len(code)} exercises with checks, need {minimum}"
        for i in solutions:
            assert cells[i]["cell_type"] in ("code", "markdown")
            assert cells[i]["metadata"].get("jupyter", {}).get("source_hidden") is True, (
                f"solution cell {i} must be collapsed (jupyter.source_hidden)")
        for i in code:
            nxt = cells[i + 1]
            assert nxt["cell_type"] == "code" and CHECK_CALL.search(_src(nxt)), (
                f"solution cell {i} must be followed by a cell calling a check_* function")
        answers = sorted(set(solutions) - set(code))
        if not path.name.startswith("00"):
            assert answers, "from chapter 01 on: a predict/explain question with a model answer"
        for i in answers:                                   # model answers to predict/explain
            assert _src(cells[i]).startswith("**Model answer.**"), (
                f"markdown solution cell {i} must start with '**Model answer.**'")
            assert any(c["cell_type"] == "markdown" and QUESTION.match(_src(c))
                       for c in cells[max(0, i - 3):i]), (
                f"model answer {i} must follow its question ('**Predict and explain.**' or "
                f"'**Experiment.**') within three cells")

    def test_listed_in_readme_and_welcome(self, path):
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        assert f"(notebooks/{path.name})" in readme
        if not path.name.startswith("00"):
            welcome = (ROOT / "notebooks" / "00_welcome.ipynb").read_text(encoding="utf-8")
            assert f"]({path.name})" in welcome, f"00_welcome's course map must link {path.name}"
