"""Progress for self-study (course_lib.progress): every check records its latest verdict in a
JSON file, only where a learner (or a test, through $COURSE_PROGRESS_FILE) asks for it."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

import numpy as np
import pytest

from course_lib.exercises import ExerciseFailed, ch00
from course_lib.progress import (
    DEFAULT_NAME,
    PROGRESS_ENV,
    ProgressFileError,
    chapter_exercises,
    load_progress,
    plot_progress,
    progress_table,
    record_verdict,
    recording_file,
    reset_progress,
    show_progress,
)


def mse(y_hat, y):
    return float(np.mean((y_hat - y) ** 2))


def mse_wrong(y_hat, y):
    return float(np.mean(y_hat - y))


@pytest.fixture
def progress(tmp_path, monkeypatch):
    """A progress file in a tmp folder, switched on through the environment variable."""
    path = tmp_path / "progress.json"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    return path


def test_a_check_records_its_latest_verdict(progress, monkeypatch):
    before = datetime.now(UTC).replace(microsecond=0)
    assert ch00.check_mse(mse)
    entry = load_progress(progress)["ch00.check_mse"]
    assert entry["passed"] is True and entry["name"] == "mean squared error"
    assert before <= datetime.fromisoformat(entry["time"]) <= datetime.now(UTC)
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "0")
    assert not ch00.check_mse(mse_wrong)                     # the latest verdict wins
    assert load_progress(progress)["ch00.check_mse"]["passed"] is False
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")
    with pytest.raises(ExerciseFailed):                      # recorded before it raises
        ch00.check_accuracy(lambda scores, labels: 0.0)
    assert load_progress(progress)["ch00.check_accuracy"]["passed"] is False
    assert ch00.check_accuracy(lambda s, y: float(np.mean(s.argmax(1) == y)))
    assert sorted(load_progress(progress)) == ["ch00.check_accuracy", "ch00.check_mse"]


def test_explicit_strict_is_a_demo_or_a_grader_and_not_recorded(progress):
    assert not ch00.check_mse(mse_wrong, strict=False)
    assert ch00.check_mse(mse, strict=True)
    assert not progress.exists()


def test_nothing_is_written_under_pytest_unless_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "0")          # as in a learner's kernel
    assert recording_file() is None                          # PYTEST_CURRENT_TEST is set
    assert ch00.check_mse(mse)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(PROGRESS_ENV, "off")
    assert recording_file() is None
    # A learner's kernel: no pytest, checks not strict: the file in the current folder.
    monkeypatch.delenv(PROGRESS_ENV)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    assert recording_file() == tmp_path / DEFAULT_NAME
    assert ch00.check_mse(mse)
    assert load_progress(tmp_path / DEFAULT_NAME)["ch00.check_mse"]["passed"]


@pytest.mark.parametrize("text, problem", [
    ("{not json", "is not valid JSON"),
    ('["a list"]', "expected an object"),
    ('{"format": "course-progress/1", "exercises": {"ch00.check_mse": {"passed": "yes"}}}',
     "entry 'ch00.check_mse'"),
])
def test_a_broken_file_is_reported_and_never_breaks_a_check(progress, capsys, text, problem):
    progress.write_text(text)
    assert ch00.check_mse(mse)                               # the check still works
    out = capsys.readouterr().out
    assert "progress not recorded" in out and problem in out and "reset_progress()" in out
    assert progress.read_text() == text                      # left alone for the learner
    with pytest.raises(ProgressFileError, match=problem):
        progress_table(progress)
    rows = show_progress(progress)                           # reported, shown as no progress
    assert problem in capsys.readouterr().out and sum(r.passed for r in rows) == 0


def test_an_unwritable_place_is_reported(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    assert record_verdict("ch00.check_mse", "mse", True, path=tmp_path / "f" / "p.json") is False
    assert "progress not recorded" in capsys.readouterr().out


def _record_many(path, worker, n):
    for i in range(n):
        record_verdict(f"ch0{worker}.check_{i}", "x", i % 2 == 0, path=path)


def test_concurrent_writers_neither_corrupt_nor_lose_verdicts(tmp_path):
    path = tmp_path / "progress.json"
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_record_many, args=(path, w, 30)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0
    verdicts = load_progress(path)
    assert len(verdicts) == 4 * 30
    assert [p.name for p in tmp_path.iterdir()] == ["progress.json"]   # no temporary file left


def test_table_counts_latest_passes_per_chapter(progress):
    chapters = chapter_exercises()
    assert list(chapters) == [f"{i:02d}" for i in range(19)]
    assert chapters["04"][0] == "Linear regression"
    assert len(chapters["03"][1]) == 5 and "ch06.check_mlp_module" in chapters["06"][1]
    assert all(len(checks) >= 3 for _, checks in chapters.values())
    rows = progress_table(progress)                          # no file yet: all zero
    assert [r.passed for r in rows] == [0] * 19
    for key, passed in [("ch04.check_ridge", True), ("ch04.check_normal_equations", True),
                        ("ch04.check_lasso_coordinate", False), ("ch04.check_gone", True)]:
        record_verdict(key, "x", passed)
    row = {r.chapter: r for r in progress_table(progress)}["04"]
    assert (row.passed, row.total) == (2, 4)
    ax = plot_progress(progress_table(progress))
    assert len(ax.patches) == 2 * 19 and ax.patches[19 + 4].get_width() == 2
    import matplotlib.pyplot as plt
    plt.close("all")


def test_reset_deletes_the_file(progress, capsys):
    record_verdict("ch00.check_mse", "mse", True)
    reset_progress()
    assert not progress.exists() and "deleted" in capsys.readouterr().out
    reset_progress()
    assert "nothing to reset" in capsys.readouterr().out
