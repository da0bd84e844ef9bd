"""Test-suite settings shared by the unit tests and the notebooks run under nbval.

The environment variables below are set before any notebook kernel starts, so the
kernels inherit them:

- COURSE_STRICT_CHECKS=1: a failed exercise check raises, so the worked solutions are tested;
- COURSE_LIVE_PLOTS=0: training curves are drawn once at the end instead of every epoch;
- MPLBACKEND=Agg for the unit tests (the kernels use the inline backend regardless).

At the end of the run the wall time of each notebook is printed; a notebook slower than
COURSE_NOTEBOOK_BUDGET_S seconds (default 60: the chapters aim for < 45 s on a 2-core CPU,
with headroom for a busy machine) fails the run.
"""

from __future__ import annotations

import os
from collections import defaultdict

os.environ["COURSE_STRICT_CHECKS"] = "1"
os.environ["COURSE_LIVE_PLOTS"] = "0"
os.environ.setdefault("MPLBACKEND", "Agg")

_notebook_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def _over_budget() -> list[tuple[str, float]]:
    budget = float(os.environ.get("COURSE_NOTEBOOK_BUDGET_S", "60"))
    return [(p, s) for p, s in sorted(_notebook_seconds.items()) if s > budget]


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    tr = terminalreporter
    tr.section("notebook run times")
    for path, seconds in sorted(_notebook_seconds.items()):
        tr.write_line(f"{seconds:7.1f} s  {path}")
    for path, seconds in _over_budget():
        budget = os.environ.get("COURSE_NOTEBOOK_BUDGET_S", "60")
        tr.write_line(f"TOO SLOW: {path} took {seconds:.1f} s, over the budget "
                      f"COURSE_NOTEBOOK_BUDGET_S={budget}")


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _over_budget():
        session.exitstatus = 1
