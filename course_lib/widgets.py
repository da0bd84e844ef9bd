"""Widget helpers: a plot that redraws when a control moves.

    def draw(ax, rank):
        ax.imshow(low_rank_approx(A, rank), cmap="gray")
        return f"rank {rank}: error {err:.3f}"

    interactive_plot(draw, rank=(1, 100, 1))

Run under nbval (or any non-interactive kernel) the widget draws once with its initial
values, so a notebook with widgets still executes top to bottom as a test.
"""

from __future__ import annotations

from collections.abc import Callable


def interactive_plot(draw: Callable, *, nrows: int = 1, ncols: int = 1,
                     figsize: tuple[float, float] | None = None, **controls):
    """Build an ``ipywidgets.interactive`` whose output is a freshly drawn figure.

    Args:
        draw: ``draw(ax, **values)`` (``ax`` is a single Axes when ``nrows == ncols == 1``,
            otherwise the array of Axes from ``plt.subplots``). It may return a short string,
            printed under the figure.
        nrows, ncols, figsize: passed to ``plt.subplots``.
        **controls: one per keyword argument of ``draw``: an ipywidgets control or an
            ``interact`` abbreviation such as ``(1, 50, 1)`` (an int slider), ``(0.0, 1.0)``
            (a float slider), a list of options (a dropdown), or a bool (a checkbox).

    Returns:
        The ``ipywidgets.interactive`` widget (display it as the cell's last expression).
        Its ``.children`` are the controls followed by the output area; ``.last_draw`` holds
        the values, returned text and figure of the latest redraw.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    if not callable(draw):
        raise TypeError(f"interactive_plot: draw must be a function, got {type(draw).__name__}")
    if not controls:
        raise ValueError("interactive_plot: give at least one control, e.g. rank=(1, 50, 1)")

    state: dict = {}

    def _update(**values):
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=True)
        text = draw(axes, **values)
        fig.tight_layout()
        state.update(values=dict(values), text=text, figure=fig)
        plt.show()
        if text:
            print(text)

    _update.__name__ = getattr(draw, "__name__", "draw")
    w = widgets.interactive(_update, **controls)
    w.last_draw = state  # {"values", "text", "figure"} of the latest redraw, for tests
    for child in w.children[:-1]:
        if hasattr(child, "continuous_update"):
            child.continuous_update = False  # redraw on release: smooth on a slow CPU
        if not child.description:
            child.description = ""
        child.style = {"description_width": "initial"}
    return w
