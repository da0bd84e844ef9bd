"""Your progress through the exercises: which checks you have passed, chapter by chapter.

Every exercise check (``ch04.check_ridge(my_ridge)``) records its latest verdict, passed or
not yet, with the time (UTC), in a small JSON file:

- ``$COURSE_PROGRESS_FILE`` when that environment variable is set (set it to ``off`` or to
  the empty string to record nothing);
- otherwise ``.course_progress.json`` in the kernel's current folder. A notebook opened in
  JupyterLab runs in its own folder, so for the course that is ``notebooks/.course_progress.json``:
  your working folder, never inside ``course_lib``.

Nothing is recorded while the test suite runs (``pytest`` sets ``PYTEST_CURRENT_TEST`` and the
course's ``COURSE_STRICT_CHECKS=1``) unless ``$COURSE_PROGRESS_FILE`` names a file, nor for a
check called with an explicit ``strict=`` (a demonstration with ``strict=False``, a graded test
cell of an nbgrader assignment with ``strict=True``).

The file looks like this (hand-edit it if you like; a file that is not like this is reported
and left alone, and never makes a check fail):

    {"format": "course-progress/1",
     "exercises": {"ch04.check_ridge": {"name": "ridge regression in closed form",
                                        "passed": true, "time": "2026-12-03T20:41:07+00:00"}}}

Two notebooks open at once may both record: each write goes to a temporary file that then
replaces the old one (an atomic rename), under a lock where the system has one (POSIX
``flock``), so the file is never half-written and no verdict is lost.

    from course_lib.progress import show_progress, reset_progress
    show_progress()        # the table and a bar chart per chapter
    reset_progress()       # start again (deletes the file)
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PROGRESS_ENV = "COURSE_PROGRESS_FILE"
DEFAULT_NAME = ".course_progress.json"
FORMAT = "course-progress/1"
_EXERCISES = Path(__file__).resolve().parent / "exercises"
_OFF = ("", "0", "off", "false", "no")

__all__ = ["ProgressFileError", "ChapterProgress", "progress_file", "recording_file",
           "record_verdict", "load_progress", "progress_table", "plot_progress",
           "show_progress", "reset_progress", "PROGRESS_ENV"]


class ProgressFileError(ValueError):
    """The progress file exists but is not valid JSON of the expected shape."""


@dataclass(frozen=True)
class ChapterProgress:
    """One row of the progress table: exercises passed out of the chapter's total."""

    chapter: str         # "04"
    title: str           # "Linear regression"
    passed: int
    total: int


def progress_file() -> Path:
    """The progress file to read: ``$COURSE_PROGRESS_FILE`` or ``./.course_progress.json``."""
    value = os.environ.get(PROGRESS_ENV)
    if value is not None and value.strip().lower() not in _OFF:
        return Path(value).expanduser()
    return Path.cwd() / DEFAULT_NAME


def recording_file() -> Path | None:
    """The file a check records into now, or None when nothing is recorded (see the module
    docstring: switched off, or inside the test suite without ``$COURSE_PROGRESS_FILE``)."""
    value = os.environ.get(PROGRESS_ENV)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    strict = os.environ.get("COURSE_STRICT_CHECKS", "") not in ("", "0", "false", "False")
    if strict or "PYTEST_CURRENT_TEST" in os.environ:
        return None
    return Path.cwd() / DEFAULT_NAME


def _validate(data: object, path: Path) -> dict[str, dict]:
    """Return the ``exercises`` mapping of a parsed progress file, or raise ProgressFileError."""
    def bad(what: str) -> ProgressFileError:
        return ProgressFileError(
            f"progress file {path}: {what}. Expected {{\"format\": \"{FORMAT}\", \"exercises\": "
            f"{{\"chNN.check_name\": {{\"passed\": true or false, \"time\": \"...\"}}}}}}. "
            f"Fix it by hand, or start again with: "
            f"from course_lib.progress import reset_progress; reset_progress()")
    if not isinstance(data, dict) or not isinstance(data.get("exercises"), dict):
        raise bad(f"expected an object with an \"exercises\" object, got "
                  f"{type(data).__name__}" + (f" with keys {sorted(data)}"
                                              if isinstance(data, dict) else ""))
    if data.get("format") != FORMAT:
        raise bad(f"expected \"format\": \"{FORMAT}\", got {data.get('format')!r}")
    for key, entry in data["exercises"].items():
        if not (isinstance(entry, dict) and isinstance(entry.get("passed"), bool)
                and isinstance(entry.get("time"), str)):
            raise bad(f"entry {key!r} is {entry!r}")
    return data["exercises"]


def load_progress(path: str | Path | None = None) -> dict[str, dict]:
    """The recorded verdicts, ``{"ch04.check_ridge": {"name", "passed", "time"}, ...}``.

    ``path`` defaults to :func:`progress_file`. A missing file means no progress (``{}``);
    a file that is not valid progress JSON raises :class:`ProgressFileError` saying why.
    """
    path = progress_file() if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ProgressFileError(f"progress file {path} is not valid JSON ({e}). Fix it by "
                                f"hand, or start again with: from course_lib.progress import "
                                f"reset_progress; reset_progress()") from None
    return _validate(data, path)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (POSIX flock) while writing; no-op elsewhere."""
    try:
        import fcntl
        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                              # closing releases the lock


def _write(path: Path, exercises: dict[str, dict]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, "exercises": exercises}, f, indent=1,
                      ensure_ascii=False, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)                      # atomic: readers see the old or new file
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def record_verdict(exercise: str, name: str, passed: bool,
                   path: str | Path | None = None) -> bool:
    """Record the latest verdict of one exercise check; called by every check.

    ``exercise`` is ``"chNN.check_name"``, ``name`` what the check calls the exercise. ``path``
    defaults to :func:`recording_file` (None there: nothing is recorded). Never raises: a
    problem (an unreadable or hand-broken file, a read-only folder) is printed in one line and
    the file is left as it was. Returns True when the verdict was written.
    """
    target = recording_file() if path is None else Path(path)
    if target is None:
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _locked(target.parent):
            exercises = load_progress(target)
            exercises[exercise] = {"name": name, "passed": bool(passed),
                                   "time": datetime.now(UTC).isoformat(timespec="seconds")}
            _write(target, exercises)
        return True
    except ProgressFileError as e:
        print(f"(progress not recorded: {e})")
    except Exception as e:  # noqa: BLE001 - recording progress must never break a check
        print(f"(progress not recorded in {target}: {type(e).__name__}: {e})")
    return False


def chapter_exercises() -> dict[str, tuple[str, list[str]]]:
    """``{"04": ("Linear regression", ["ch04.check_normal_equations", ...]), ...}``: every
    chapter's title and checks, read from the source of ``course_lib/exercises/chNN.py``."""
    chapters = {}
    for path in sorted(_EXERCISES.glob("ch[0-9][0-9].py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree) or ""
        title = re.search(r"\(([^)]*)\)", doc)
        checks = [f"{path.stem}.{n.name}" for n in tree.body
                  if isinstance(n, ast.FunctionDef) and n.name.startswith("check_")]
        chapters[path.stem[2:]] = (title.group(1) if title else "", checks)
    return chapters


def progress_table(path: str | Path | None = None) -> list[ChapterProgress]:
    """Exercises passed (latest verdict) out of the total, per chapter 00-18.

    Raises :class:`ProgressFileError` for a broken file (:func:`show_progress` reports it)."""
    verdicts = load_progress(path)
    return [ChapterProgress(chapter, title,
                            sum(verdicts.get(c, {}).get("passed", False) for c in checks),
                            len(checks))
            for chapter, (title, checks) in chapter_exercises().items()]


def plot_progress(rows: list[ChapterProgress], ax=None):
    """Draw the table as horizontal bars (passed out of total per chapter); returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.25 * len(rows) + 0.8))
    labels = [f"{r.chapter} {r.title}" for r in rows]
    y = range(len(rows))
    ax.barh(y, [r.total for r in rows], color="0.9", label="exercises")
    ax.barh(y, [r.passed for r in rows], color="C2", label="passed")
    for i, r in enumerate(rows):
        ax.text(r.total + 0.1, i, f"{r.passed}/{r.total}", va="center", fontsize=8)
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="exercises", xlim=(0, max((r.total for r in rows), default=1) + 1))
    ax.legend(loc="lower right", fontsize=8)
    return ax


def show_progress(path: str | Path | None = None) -> list[ChapterProgress]:
    """Print where the progress is read from and the totals, draw :func:`plot_progress`, and
    return the rows. A broken file is reported (with how to fix it) and shown as no progress."""
    path = progress_file() if path is None else Path(path)
    try:
        rows = progress_table(path)
    except ProgressFileError as e:
        print(e)
        rows = [ChapterProgress(ch, title, 0, len(checks))
                for ch, (title, checks) in chapter_exercises().items()]
    done = sum(r.passed for r in rows)
    total = sum(r.total for r in rows)
    where = path if path.exists() else f"{path} (not there yet: run a chapter's exercises)"
    print(f"progress file: {where}\npassed {done} of {total} exercises")
    plot_progress(rows)
    return rows


def reset_progress(path: str | Path | None = None) -> None:
    """Forget all recorded verdicts: delete the progress file (default :func:`progress_file`)."""
    path = progress_file() if path is None else Path(path)
    try:
        path.unlink()
        print(f"deleted {path}")
    except FileNotFoundError:
        print(f"nothing to reset: {path} does not exist")
