"""Show the source of a course_lib function inside a notebook."""

from __future__ import annotations

import inspect


def show_source(obj) -> object:
    """Display the source code of a function, class or module with syntax highlighting.

    Returns an ``IPython.display.Code`` object (shown when it is a cell's last expression;
    outside IPython its ``str`` is the plain source).
    """
    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as e:
        raise TypeError(f"show_source: expected a Python function, class or module, "
                        f"got {type(obj).__name__} ({e})") from None
    from IPython.display import Code

    return Code(source, language="python")
