"""The course in a real JupyterLab: notebooks and widgets checked in headless Chromium.

nbval proves that a notebook's code runs; these tests prove that a learner who opens it in
JupyterLab sees it work. They start ``jupyter lab`` from this environment (a free loopback
port, a throw-away token-less config and settings directory) on a temporary copy of
notebooks/, open each notebook in Debian's Chromium driven by Playwright, run it with
Run > Run All Cells, and check in the page that no cell shows an error, that no formula is
shown in red by MathJax, that the widgets are real controls, and that moving a slider (or
choosing another dropdown option) redraws the widget's output. A screenshot of each notebook
is saved in a temporary directory whose path the failure message gives.

Select or skip them by their marker:

    .venv/bin/pytest -m browser tests/          # the browser tests alone
    .venv/bin/pytest -m "not browser"           # everything else

By default they cover 00 and 02 (the welcome every learner opens first, and a chapter with a
plot widget and a dropdown), to keep the whole test run within its ten minutes;
``COURSE_BROWSER_NOTEBOOKS=all`` covers every notebook, ``COURSE_BROWSER_NOTEBOOKS=03,05``
the chapters named. They need ``apt-get install -y chromium`` and
``.venv/bin/pip install -r requirements-browser.txt``; without them they skip, except where
``COURSE_BROWSER_TESTS=required`` or ``CI=true`` (as in .ci/run), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from browser_helpers import (
    MODE_ENV,
    HeadlessChromium,
    LabServer,
    NotebookReport,
    browser_mode,
    browser_unavailable,
    check_notebook,
    describe,
    expected_widget_cells,
    find_chromium,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
SELECT_ENV = "COURSE_BROWSER_NOTEBOOKS"
#: Checked on every run: the welcome and a chapter with a plot widget and a dropdown. Each
#: notebook costs 20-30 s; the rest run with COURSE_BROWSER_NOTEBOOKS=all.
DEFAULT_CHAPTERS = ("00", "02")


def all_notebooks() -> list[str]:
    return sorted(p.name for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def selected_notebooks() -> list[str]:
    """The notebooks to open: DEFAULT_CHAPTERS, every one ("all"), or the listed prefixes."""
    spec = os.environ.get(SELECT_ENV, "").strip()
    found = all_notebooks()
    if spec.lower() == "all":
        return found
    wanted = [w.strip() for w in spec.split(",") if w.strip()] or list(DEFAULT_CHAPTERS)
    names: list[str] = []
    for prefix in wanted:
        # A prefix that matches nothing stays in the list, so that its test fails.
        names += [n for n in found if n.startswith(prefix)] or [prefix]
    return names


@dataclass
class Lab:
    server: LabServer
    chromium: HeadlessChromium
    root: Path
    screenshots: Path

    def check(self, name: str, expected_widgets: int) -> NotebookReport:
        page = self.chromium.new_page()
        try:
            return check_notebook(page, self.server, name, self.screenshots,
                                  expected_widgets=expected_widgets)
        finally:
            with contextlib.suppress(Exception):  # a crashed page is in the report already
                page.close()


@pytest.fixture(scope="module")
def lab():
    """A JupyterLab server on a temporary copy of notebooks/, and a headless Chromium.

    Both are stopped by their own handles when the module's tests are done, pass or fail;
    a process of theirs still alive after that fails the run.
    """
    mode = browser_mode()
    if mode == "skip":
        pytest.skip(f"{MODE_ENV}=skip")
    why = browser_unavailable()
    if why:
        if mode == "required":
            pytest.fail(f"{why}. The browser tests may not be skipped here ({MODE_ENV}="
                        f"{os.environ.get(MODE_ENV, '')!r}, CI={os.environ.get('CI', '')!r}).",
                        pytrace=False)
        pytest.skip(why)
    # Kept after the run, for the screenshots and the server log named in failure messages
    # (pytest's own temporary directories are pruned by later runs).
    base = Path(tempfile.mkdtemp(prefix="course-browser-"))
    root = base / "course"
    shutil.copytree(NOTEBOOK_DIR, root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = LabServer(root, base / "jupyter")
    chromium = HeadlessChromium(find_chromium(), base / "chromium-profile")
    try:
        server.start()
        chromium.start()
        yield Lab(server, chromium, root, base / "screenshots")
    finally:
        leftovers = chromium.stop() + server.stop()
        for bulky in (root, base / "chromium-profile"):  # the copy ran; the profile is spent
            shutil.rmtree(bulky, ignore_errors=True)
    assert not leftovers, f"processes outlived the browser tests: {describe(leftovers)}"


def _failure(report: NotebookReport, lab: Lab) -> str:
    return (f"{report.summary()}\nJupyterLab's log: {lab.server.log_path}\n"
            f"{lab.server.log_tail(15)}")


@pytest.mark.parametrize("notebook", selected_notebooks())
def test_notebook_works_in_jupyterlab(lab, notebook):
    path = lab.root / "notebooks" / notebook
    assert path.is_file(), (f"no notebook {notebook!r} in notebooks/ (the notebooks there: "
                            f"{', '.join(all_notebooks())})")
    expected = expected_widget_cells(path)
    report = lab.check(f"notebooks/{notebook}", expected)
    print(report.summary())
    assert not report.problems, _failure(report, lab)
    assert report.widgets >= expected, _failure(report, lab)


def test_default_selection_has_a_later_chapter_with_a_plot_widget():
    chosen = [n for n in all_notebooks() if n.startswith(DEFAULT_CHAPTERS)]
    assert [n[:2] for n in chosen] == list(DEFAULT_CHAPTERS), chosen
    assert any(expected_widget_cells(NOTEBOOK_DIR / n) for n in chosen if n[:2] >= "02"), \
        f"none of {chosen[2:]} displays an interactive_plot: pick another later chapter"


# A notebook broken on purpose: its first widget's callback raises once the slider moves, its
# second widget ignores its slider, its last cell but one raises, so the last one never runs.
BROKEN_CELLS = [
    ("markdown", "# Broken on purpose\n\nInjected by tests/test_browser.py."),
    ("code", """\
from course_lib.widgets import interactive_plot


def draw_raises(ax, k):
    if k != 5:
        raise ValueError(f"injected failure at k = {k}")
    ax.plot([0, 1], [0, k])
    return f"k = {k}"


interactive_plot(draw_raises, k=(0, 10, 1))"""),
    ("code", """\
def draw_ignores_k(ax, k):
    ax.plot([0, 1], [0, 1])
    return "always the same"


interactive_plot(draw_ignores_k, k=(0, 10, 1))"""),
    ("code", "1 / 0"),
    ("code", "print('never runs')"),
]


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "markdown"
                else nbformat.v4.new_code_cell(src) for kind, src in cells]
    nbformat.write(nb, path)


def test_a_broken_widget_callback_is_caught(lab):
    """The checks can fail: each fault injected into a temporary notebook is reported."""
    path = lab.root / "notebooks" / "zz_broken_on_purpose.ipynb"
    write_notebook(path, BROKEN_CELLS)
    assert expected_widget_cells(path) == 2
    report = lab.check(f"notebooks/{path.name}", expected_widgets=2)
    print(report.summary())
    problems = "\n".join(report.problems)
    assert report.widgets == 2, _failure(report, lab)
    assert "ValueError: injected failure at k = " in problems, _failure(report, lab)
    assert "raised by a widget callback" in problems, _failure(report, lab)
    assert "widget 1 (cell 2): output unchanged after its controls moved (slider 0 from 5 " \
        in problems, _failure(report, lab)
    assert "error output in cell 3: ZeroDivisionError" in problems, _failure(report, lab)
    assert "code cells not executed (the run stopped?): [4]" in problems, _failure(report, lab)
    assert len(report.problems) == 4, _failure(report, lab)
    assert report.screenshot is not None and report.screenshot.is_file()
