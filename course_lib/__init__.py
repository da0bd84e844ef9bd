"""course_lib: the shared code behind the *Deep Learning, Hands-On* notebooks.

Layout (the folder tells you what a module may import):

- ``course_lib.scratch``   from-scratch implementations, NumPy and the standard library only;
- ``course_lib.torch_ref`` PyTorch reference models;
- ``course_lib.env``       :func:`setup`: seeding, threads, plotting defaults, device choice;
- ``course_lib.data``      offline, checksummed datasets;
- ``course_lib.checks``    numeric gradients and scratch-vs-torch comparisons;
- ``course_lib.exercises`` automatic checks for the exercises;
- ``course_lib.training``  a small training loop with a progress bar and live plot;
- ``course_lib.plots``, ``course_lib.widgets``: pictures and controls reused by the chapters.

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
