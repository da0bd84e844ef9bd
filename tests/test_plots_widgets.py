"""Plot helpers draw what they promise; widgets redraw when a control moves."""

import io

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram
from scipy.cluster.hierarchy import linkage

from course_lib.plots import (
    decision_boundary,
    dendrogram,
    draw_boxes,
    image_grid,
    loss_surface,
    plot_curves,
)
from course_lib.scratch.cluster import agglomerative, cut_tree, dendrogram_coords
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


def _pixel(ax, x, y) -> np.ndarray:
    """The RGB colour (0..1) drawn at data point (x, y)."""
    fig = ax.figure
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())
    px, py = ax.transData.transform((x, y))
    return img[int(round(img.shape[0] - py)), int(round(px)), :3] / 255.0


def test_decision_boundary_colours_by_prediction():
    # three vertical bands: class 0 left of x = −1, class 2 right of x = 1, class 1 between
    X = np.array([[-2.0, -2.0], [0.0, 2.0], [2.0, -2.0]])
    y = np.array([0, 1, 2])

    def predict(P):
        return np.digitize(P[:, 0], [-1.0, 1.0])

    alpha, K = 0.3, 3
    cmap = matplotlib.colormaps["coolwarm"]
    with matplotlib.rc_context({"axes.grid": False}):    # no grid line over a sampled pixel
        ax = decision_boundary(predict, X, y, resolution=60, alpha=alpha)
    ax.figure.canvas.draw()
    # the dots: class c in the colour map's colour at c / (K − 1)
    dots = ax.collections[-1].get_facecolors()[:, :3]
    np.testing.assert_allclose(dots, [cmap(c / (K - 1))[:3] for c in y], atol=1e-12)
    # the fill: class c is the band (c − ½, c + ½) of the levels −½ .. K − ½, so it gets the
    # colour map's colour at (c + ½) / K, drawn at alpha over the white background
    fill = np.array([alpha * np.array(cmap((c + 0.5) / K)[:3]) + (1 - alpha) for c in range(K)])
    assert np.all(np.abs(np.diff(fill, axis=0)).max(axis=1) > 0.03)   # classes look different
    for (px, py), c in [((-1.7, 1.0), 0), ((-1.5, -0.5), 0), ((0.0, -1.0), 1), ((0.3, 0.8), 1),
                        ((1.6, 1.2), 2), ((1.5, 0.0), 2)]:
        assert predict(np.array([[px, py]]))[0] == c                 # away from dots and edges
        np.testing.assert_allclose(_pixel(ax, px, py), fill[c], atol=2.5 / 255,
                                   err_msg=f"class {c} at {(px, py)}")
    assert ax.get_xlim() == (-2.5, 2.5) and ax.get_ylim() == (-2.5, 2.5)   # padding 0.5
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



def _links(ax) -> dict[tuple, tuple]:
    """{(x-coordinates, heights) of each drawn "∏": its RGBA colour}, from the LineCollections."""
    out = {}
    for coll in ax.collections:
        if isinstance(coll, LineCollection):
            colours = coll.get_colors()
            for i, seg in enumerate(coll.get_segments()):
                key = tuple(np.round(np.asarray(seg).ravel(), 9))
                assert key not in out
                out[key] = tuple(colours[i % len(colours)])
    return out


@pytest.mark.parametrize("method", ["single", "complete", "average"])
def test_dendrogram_draws_the_scratch_linkage_like_scipy(method):
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(9, 2)), rng.normal(size=(8, 2)) + 4, [[2.0, 2.0]]])
    N = len(X)
    Z = agglomerative(X, method)
    np.testing.assert_allclose(Z, linkage(X, method), atol=1e-12)       # SciPy's format
    ax = dendrogram(Z, labels=[f"p{i}" for i in range(N)], title=method)
    ref = scipy_dendrogram(Z, no_plot=True)
    # leaves in SciPy's order, labelled by name
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"p{i}" for i in ref["leaves"]]
    assert list(dendrogram_coords(Z)[2]) == ref["leaves"]
    # one "∏" per merge, where the from-scratch layout puts it, all grey without a cut
    links = _links(ax)
    xs, ys, _ = dendrogram_coords(Z)
    assert len(links) == N - 1
    assert set(links) == {tuple(np.round(np.column_stack([xs[t], ys[t]]).ravel(), 9))
                          for t in range(N - 1)}
    assert set(links.values()) == {to_rgba("0.3")}
    assert ax.get_title() == method and ax.get_ylim()[1] == pytest.approx(1.05 * Z[-1, 2])


@pytest.mark.parametrize("n_clusters", [1, 2, 3, 5])
def test_dendrogram_cut_colours_links_by_flat_cluster(n_clusters):
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(7, 2)), rng.normal(size=(7, 2)) + 5])
    N = len(X)
    Z = agglomerative(X, "average")
    cut = 1.02 * Z[-1, 2] if n_clusters == 1 else (Z[N - n_clusters - 1, 2]
                                                   + Z[N - n_clusters, 2]) / 2
    ax = dendrogram(Z, cut=cut)
    assert any(np.allclose(line.get_ydata(), cut) and line.get_linestyle() == "--"
               for line in ax.lines)                                   # the cut is marked
    labels = cut_tree(Z, n_clusters)                                   # what a scatter shows
    members = {i: [i] for i in range(N)}
    xs, ys, _ = dendrogram_coords(Z)
    links = _links(ax)
    assert len(links) == N - 1
    for t in range(N - 1):
        a, b = int(Z[t, 0]), int(Z[t, 1])
        members[N + t] = members[a] + members[b]
        colour = links[tuple(np.round(np.column_stack([xs[t], ys[t]]).ravel(), 9))]
        if Z[t, 2] <= cut:                    # below the cut: the colour of its flat cluster
            assert len({labels[i] for i in members[N + t]}) == 1
            assert colour == to_rgba(f"C{labels[members[N + t][0]]}"), t
        else:                                 # above: grey
            assert colour == to_rgba("0.3"), t
    assert sum(Z[:, 2] <= cut) == N - n_clusters


def test_dendrogram_errors():
    Z = agglomerative(np.arange(8.0).reshape(4, 2))
    with pytest.raises(ValueError, match="got 4 leaves but 3 labels"):
        dendrogram(Z, labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="'Z' must have 4 columns"):
        dendrogram(np.ones((3, 3)))
    with pytest.raises(ValueError, match="dendrogram: Z must be a 2-D array"):
        dendrogram(np.ones(4))
    bad = Z.copy()
    bad[0, 1] = 5                                     # cluster 5 is formed by the last merge
    with pytest.raises(ValueError, match="before it is formed"):
        dendrogram(bad)

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


def test_draw_boxes_draws_one_rectangle_per_box_and_stays_on_the_image():
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots()
    boxes = np.array([[2.0, 3.0, 10.0, 12.0], [50.0, 50.0, 90.0, 70.0]])   # one runs off
    draw_boxes(ax, boxes, [3, 7], [0.9, 0.25], image=np.zeros((1, 64, 64)))
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rects) == 2 and rects[0].get_xy() == (1.5, 2.5)        # pixel edges: −½
    assert rects[0].get_width() == 8 and rects[0].get_height() == 9
    assert [t.get_text() for t in ax.texts] == ["3 0.90", "7 0.25"]
    assert ax.get_xlim() == (-0.5, 63.5) and ax.get_ylim() == (63.5, -0.5)
    draw_boxes(ax, np.zeros((0, 4)))                                  # nothing to draw is fine
    assert len(ax.patches) == 2
    with pytest.raises(ValueError, match="x2 >= x1"):
        draw_boxes(ax, np.array([[5.0, 0.0, 1.0, 4.0]]))
    with pytest.raises(ValueError, match="2 boxes but 1 labels"):
        draw_boxes(ax, boxes, [1])
    plt.close(fig)
