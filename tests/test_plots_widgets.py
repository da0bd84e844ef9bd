"""Plot helpers draw what they promise; widgets redraw when a control moves."""

import io

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_lib.plots import decision_boundary, image_grid, loss_surface, plot_curves
from course_lib.widgets import interactive_plot

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


@pytest.mark.parametrize("shape, n_axes", [((5, 8, 8), 5), ((3, 16), 3), ((2, 4, 4, 3), 2)])
def test_image_grid(shape, n_axes):
    fig = image_grid(np.random.default_rng(0).random(shape), labels=list(range(shape[0])),
                     ncols=4)
    assert sum(bool(ax.images) for ax in fig.axes) == n_axes
    assert fig.axes[0].get_title() == "0"


def test_image_grid_errors():
    with pytest.raises(ValueError, match="square number of pixels"):
        image_grid(np.ones((2, 10)))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        image_grid(np.ones((2, 4, 4)), labels=[1, 2, 3])
    with pytest.raises(ValueError, match=r"\(N, H, W, 3 or 4\)"):
        image_grid(np.ones((2, 4, 4, 5)))


def test_decision_boundary_colours_by_prediction():
    X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    ax = decision_boundary(lambda P: (P[:, 0] > 0).astype(int), X, np.array([0, 1]),
                           resolution=20)
    assert ax.collections  # filled contours and the scatter
    with pytest.raises(ValueError, match=r"X must be \(N, 2\)"):
        decision_boundary(lambda P: P, np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="X has 3 rows but y has 2 labels"):
        decision_boundary(lambda P: P, np.ones((3, 2)), np.ones(2))


def test_loss_surface_with_paths():
    path = np.array([[1.0, 1.0], [0.5, 0.2], [0.0, 0.0]])
    ax = loss_surface(lambda X, Y: X**2 + 10 * Y**2, (-2, 2), (-2, 2), paths={"GD": path}, n=50)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["GD"]
    with pytest.raises(ValueError, match="vectorised"):
        loss_surface(lambda X, Y: 1.0, (-1, 1), (-1, 1), n=10)
    with pytest.raises(ValueError, match=r"must be \(T, 2\)"):
        loss_surface(lambda X, Y: X + Y, (-1, 1), (-1, 1), paths={"p": np.ones((3, 3))}, n=10)


def test_plot_curves():
    ax = plot_curves({"a": [3, 2, 1], "b": [1, 1, 1]}, ylabel="loss", logy=True)
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="at least one"):
        plot_curves({})


def test_interactive_plot_redraws_when_a_slider_moves():
    def draw(ax, k, kind):
        x = np.linspace(0, 1, 50)
        ax.plot(x, np.sin(k * x) if kind == "sin" else np.cos(k * x))
        return f"k = {k}"

    w = interactive_plot(draw, k=(1, 10, 1), kind=["sin", "cos"])
    slider, dropdown = w.children[0], w.children[1]
    assert isinstance(slider, widgets.IntSlider) and isinstance(dropdown, widgets.Dropdown)
    assert slider.continuous_update is False
    first = _png(w.last_draw["figure"])
    assert w.last_draw["text"] == "k = 5"  # interact starts in the middle of the range
    slider.value = 9
    assert w.last_draw["values"] == {"k": 9, "kind": "sin"} and w.last_draw["text"] == "k = 9"
    assert _png(w.last_draw["figure"]) != first
    dropdown.value = "cos"
    assert w.last_draw["values"]["kind"] == "cos"


def test_interactive_plot_errors():
    with pytest.raises(TypeError, match="draw must be a function"):
        interactive_plot(3, k=(1, 2))
    with pytest.raises(ValueError, match="at least one control"):
        interactive_plot(lambda ax: None)
