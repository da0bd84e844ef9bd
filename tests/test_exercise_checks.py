"""Every chapter's check_* functions give a verdict, never a crash, whatever the learner wrote.

(That the worked solutions pass is tested by running the notebooks: the suite sets
COURSE_STRICT_CHECKS=1, so a solution that fails its check fails its notebook.)
"""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import course_lib.exercises as exercises
from course_lib.exercises import ExerciseFailed, Verdict

MODULES = [importlib.import_module(f"course_lib.exercises.{m.name}")
           for m in pkgutil.iter_modules(exercises.__path__) if m.name.startswith("ch")]
CHECKS = [(f"{mod.__name__.rsplit('.', 1)[1]}.{name}", fn)
          for mod in MODULES for name, fn in inspect.getmembers(mod, inspect.isfunction)
          if name.startswith("check_") and fn.__module__ == mod.__name__]


def stub(*args, **kwargs):
    raise NotImplementedError


def returns_none(*args, **kwargs):
    return None


def raises(*args, **kwargs):
    raise ValueError("oops")


def takes_nothing():
    return 0


def test_every_chapter_has_checks():
    chapters = {name.split(".")[0] for name, _ in CHECKS}
    assert {"ch00", "ch01"} <= chapters


@pytest.mark.parametrize("name, check", CHECKS, ids=[n for n, _ in CHECKS])
def test_check_gives_verdicts(name, check, capsys):
    v = check(stub, strict=False)
    assert isinstance(v, Verdict) and not v and "not done yet" in v.message
    for wrong in (returns_none, raises, takes_nothing, np.zeros(3)):
        v = check(wrong, strict=False)
        assert isinstance(v, Verdict) and not v and v.message.startswith("❌"), v.message
    with pytest.raises(ExerciseFailed):
        check(stub, strict=True)
    assert capsys.readouterr().out  # every verdict is printed
