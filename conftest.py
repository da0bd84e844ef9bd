"""Test-suite settings shared by the unit tests and the notebooks run under nbval.

The environment variables below are set before any notebook kernel starts, so the
kernels inherit them:

- COURSE_STRICT_CHECKS=1: a failed exercise check raises, so the worked solutions are tested;
- COURSE_LIVE_PLOTS=0: training curves are drawn once at the end instead of every epoch;
- MPLBACKEND=Agg for the unit tests (the kernels use the inline backend regardless);
- with pytest-xdist (``pytest -n 2 --dist loadgroup``, the README's test command), see below.

**Two processes.** All notebooks go to one worker, in order, and every other test to the
other (``xdist_group`` marks added here). The unit-test worker, and every process it starts,
uses one CPU thread. A notebook kernel started while that worker is still busy also gets one
thread, so that the two processes never compete for a core (two thread pools on two cores slow
each other down many times over); once the unit tests are done (the worker leaves a flag file)
each kernel gets the two threads a learner's laptop gives it, so the heavy notebooks are timed
as they run for a learner.

At the end of the run the wall time of each notebook is printed (and written as a markdown
table to the file named by COURSE_NOTEBOOK_TIMES, if set). Each notebook has a time
budget, the bar its issue set, in its metadata (``"course": {"time_budget_s": 60}``; 45 s when
absent); a notebook slower than its budget on a 2-core CPU fails the run. Set
COURSE_NOTEBOOK_BUDGET_SCALE (e.g. 3) on a slower machine.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

os.environ["COURSE_STRICT_CHECKS"] = "1"
os.environ["COURSE_LIVE_PLOTS"] = "0"
os.environ.setdefault("MPLBACKEND", "Agg")

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "COURSE_THREADS")
_KERNEL_THREADS = os.environ.get("COURSE_THREADS", "2")   # what a notebook kernel gets alone

# Under pytest-xdist each worker process, and what it starts (JupyterLab in the browser tests,
# kernels), uses one thread; set before the test modules import NumPy or PyTorch. Notebook
# kernels are given their thread count just before they start (pytest_runtest_setup).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER:
    for _var in _THREAD_VARS:
        os.environ[_var] = "1"

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
    out = os.environ.get("COURSE_NOTEBOOK_TIMES")        # a markdown table for the README
    if out:
        rows = [f"| {Path(p).stem} | {sec:.1f} | {notebook_budget(p):.0f} |"
                for p, sec in sorted(_notebook_seconds.items())]
        Path(out).write_text("| notebook | seconds | budget |\n|---|---:|---:|\n"
                             + "\n".join(rows) + "\n", encoding="utf-8")
    for path, seconds in _over_budget():
        tr.write_line(f"TOO SLOW: {path} took {seconds:.1f} s, over its budget of "
                      f"{notebook_budget(path):.0f} s (metadata course.time_budget_s)")


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _over_budget():
        session.exitstatus = 1


# ---------------------------------------------------------------------------------------------
# Two processes: notebooks on one worker, everything else on the other
# ---------------------------------------------------------------------------------------------

def _is_notebook(item) -> bool:
    return item.nodeid.split("::")[0].endswith(".ipynb")


def _loadgroup(config) -> bool:
    """True on a pytest-xdist worker of ``--dist loadgroup`` (xdist sets the option there)."""
    return bool(getattr(config.option, "loadgroup", False))


def _units_done_flag(config) -> Path | None:
    """The flag file the unit-test worker leaves when it is done (None outside pytest-xdist)."""
    uid = getattr(config, "workerinput", {}).get("testrunuid")
    return Path(tempfile.gettempdir()) / f"course-unit-tests-done-{uid}" if uid else None


@pytest.hookimpl(optionalhook=True)                  # a pytest-xdist hook: absent with -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadgroup``: two work units, the notebooks (in order) and the rest."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class NotebooksAndUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "notebooks" if nodeid.split("::")[0].endswith(".ipynb") else "unit"

    return NotebooksAndUnits(config, log)


def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup``: the notebooks in order of their time budgets (cheapest
    first, each notebook's cells kept in order), so that the short ones run while the unit
    tests share the CPU and the long ones run alone with two threads."""
    if not _loadgroup(config):
        return
    order = {item: i for i, item in enumerate(items)}

    def key(item):
        path = item.nodeid.split("::")[0]
        return (1, notebook_budget(path), path, order[item]) if _is_notebook(item) else \
            (0, 0.0, "", order[item])

    items.sort(key=key)


def pytest_collection_finish(session):
    """Count the unit tests that will run (after -k/-m deselection)."""
    session.config._course_n_units = sum(not _is_notebook(item) for item in session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a notebook's kernel starts: one thread while the unit tests still run beside it,
    the learner's two threads once they are done."""
    if not (_WORKER and _loadgroup(item.config) and _is_notebook(item)):
        return
    flag = _units_done_flag(item.config)
    alone = getattr(item.config, "_course_n_units", 0) == 0 or (flag is not None
                                                                and flag.exists())
    for var in _THREAD_VARS:
        os.environ[var] = _KERNEL_THREADS if alone else "1"
    item.config._course_ran_notebooks = True


_units_run = 0


def pytest_runtest_teardown(item, nextitem):
    """On the unit-test worker: after its last test, leave the flag file."""
    global _units_run
    if not (_WORKER and _loadgroup(item.config)) or _is_notebook(item):
        return
    _units_run += 1
    flag = _units_done_flag(item.config)
    if flag is not None and _units_run == getattr(item.config, "_course_n_units", -1):
        flag.touch()


def pytest_unconfigure(config):
    """The notebook worker, the last to finish, removes the flag file."""
    flag = _units_done_flag(config)
    if flag is not None and getattr(config, "_course_ran_notebooks", False):
        flag.unlink(missing_ok=True)
