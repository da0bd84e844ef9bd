"""course_lib: the shared code behind the *Deep Learning, Hands-On* notebooks.

Layout, lowest layer first (a module imports only from its own layer or lower ones;
tests/test_import_layers.py enforces it):

0. ``course_lib.scratch``   from-scratch implementations, NumPy and the standard library only
   (its docstring lists each module with the chapter that teaches it);
1. ``course_lib.env``       :func:`setup`: seeding, threads, plotting defaults, device choice;
   ``course_lib.data``      offline, checksummed datasets;
   ``course_lib.checks``    numeric gradients and scratch-vs-torch comparisons;
   ``course_lib.show``      :func:`show_source`;
   ``course_lib.progress``  the learner's record of passed exercises;
   ``course_lib.versions``  installed packages against the lock and the supported ranges;
   ``course_lib.doctor``    ``python -m course_lib.doctor``: what is wrong with a set-up;
2. ``course_lib.training``  the training loops (``fit`` by epochs, ``fit_steps``/``run_steps``
   by steps) and the device rule;
3. ``course_lib.torch_ref`` PyTorch reference models;
4. ``course_lib.plots``, ``course_lib.widgets``, ``course_lib.autograd_graph``: pictures and
   controls reused by the chapters; ``course_lib.bench``: scratch against PyTorch, timed;
5. ``course_lib.exercises`` automatic checks for the exercises;
6. ``course_lib.student_edition`` the notebooks without solutions; ``course_lib.classroom``
   the teacher's nbgrader assignments.

``import course_lib`` itself is cheap: PyTorch is imported only when a function needs it.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["setup", "show_source", "seed_everything"]


def __getattr__(name: str):
    # Lazy re-exports keep `import course_lib.scratch` free of torch and matplotlib.
    if name in ("setup", "seed_everything"):
        from course_lib import env

        return getattr(env, name)
    if name == "show_source":
        from course_lib.show import show_source

        return show_source
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
