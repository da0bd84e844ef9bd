"""Plot helpers reused across chapters: image grids, decision boundaries, loss surfaces
with optimisation paths, and curves such as loss against step.

Every helper draws into ``ax`` when given one, else into a new figure, and returns the
Axes (or the Figure for grids) so a notebook can add to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from course_lib.scratch.validate import as_array, check_int


def image_grid(images, labels: Sequence | None = None, *, ncols: int = 8, cmap: str = "gray",
               title: str | None = None, size: float = 1.2, vmin: float | None = None,
               vmax: float | None = None):
    """Show images in a grid.

    Args:
        images: (N, H, W) grayscale, (N, H, W, 3) RGB, or (N, H*W) with square H = W.
        labels: N captions (numbers or strings), optional.
        ncols: images per row.
        size: inches per image.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    imgs = as_array(images, "image_grid", "images", ndim=(2, 3, 4))
    if imgs.ndim == 2:  # flattened square images
        side = int(round(np.sqrt(imgs.shape[1])))
        if side * side != imgs.shape[1]:
            raise ValueError(f"image_grid: flattened images must have a square number of pixels, "
                             f"got {imgs.shape[1]} per image")
        imgs = imgs.reshape(-1, side, side)
    if imgs.ndim == 4 and imgs.shape[-1] not in (3, 4):
        raise ValueError(f"image_grid: 4-D images must be (N, H, W, 3 or 4), got {imgs.shape}")
    if labels is not None and len(labels) != len(imgs):
        raise ValueError(f"image_grid: got {len(imgs)} images but {len(labels)} labels")
    ncols = check_int(ncols, "image_grid", "ncols", low=1)
    n = len(imgs)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    height = size * nrows + (0.3 if title else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, height), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(imgs[i], cmap=cmap, vmin=vmin, vmax=vmax)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X, y, *, ax=None,
                      resolution: int = 200, padding: float = 0.5, alpha: float = 0.3,
                      title: str | None = None):
    """Colour the plane by a classifier's prediction and scatter the data on top.

    Args:
        predict: maps (M, 2) points to (M,) integer class labels.
        X: (N, 2) inputs; y: (N,) integer labels.
        resolution: grid points per axis.

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    X = as_array(X, "decision_boundary", "X", ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"decision_boundary: X must be (N, 2), got shape {X.shape}")
    y = as_array(y, "decision_boundary", "y", ndim=1)
    if len(y) != len(X):
        raise ValueError(f"decision_boundary: X has {len(X)} rows but y has {len(y)} labels")
    if ax is None:
        _, ax = plt.subplots()
    (x0, y0), (x1, y1) = X.min(0) - padding, X.max(0) + padding
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    Z = np.asarray(predict(grid)).reshape(gx.shape)
    ax.contourf(gx, gy, Z, alpha=alpha, cmap="coolwarm", levels=np.arange(Z.max() + 2) - 0.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=20)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if title:
        ax.set_title(title)
    return ax


def loss_surface(f: Callable[[np.ndarray, np.ndarray], np.ndarray], xlim: tuple[float, float],
                 ylim: tuple[float, float], *, paths: Mapping[str, np.ndarray] | None = None,
                 ax=None, levels: int = 30, log_levels: bool = True, n: int = 200,
                 title: str | None = None):
    """Contour plot of a 2-D function with optimisation paths drawn on it.

    Args:
        f: vectorised ``f(X, Y) -> Z`` on meshgrid arrays.
        xlim, ylim: plot ranges.
        paths: ``{label: (T, 2) array of iterates}``; each drawn as a line with markers,
            its start marked with a circle and its end with a star.
        levels: number of contour levels; ``log_levels`` spaces them logarithmically
            (useful for ill-conditioned bowls and Rosenbrock).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    X, Y = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    Z = np.asarray(f(X, Y), dtype=np.float64)
    if Z.shape != X.shape:
        raise ValueError(f"loss_surface: f must be vectorised and return shape {X.shape}, "
                         f"got {Z.shape}")
    if log_levels:
        lo = max(Z.min(), 0) + 1e-3 * (Z.max() - Z.min() + 1e-12)
        lv = np.geomspace(lo, Z.max(), levels) if Z.min() >= 0 else levels
    else:
        lv = levels
    ax.contour(X, Y, Z, levels=lv, cmap="viridis", linewidths=0.8)
    for label, path in (paths or {}).items():
        p = as_array(path, "loss_surface", f"paths[{label!r}]", ndim=2)
        if p.shape[1] != 2:
            raise ValueError(f"loss_surface: paths[{label!r}] must be (T, 2), got {p.shape}")
        line, = ax.plot(p[:, 0], p[:, 1], ".-", ms=3, lw=1, label=label)
        ax.plot(*p[0], "o", color=line.get_color())
        ax.plot(*p[-1], "*", ms=10, color=line.get_color())
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    if paths:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def plot_curves(curves: Mapping[str, Sequence[float]], *, xlabel: str = "step",
                ylabel: str = "", logy: bool = False, ax=None, title: str | None = None,
                x: Sequence[float] | None = None):
    """Plot named curves (e.g. loss per step for several optimisers) on one Axes.

    Args:
        curves: ``{label: values}``; each a 1-D sequence.
        x: shared x values, default 0, 1, 2, ...

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    if not curves:
        raise ValueError("plot_curves: curves must hold at least one {label: values} entry")
    if ax is None:
        _, ax = plt.subplots()
    for label, values in curves.items():
        v = as_array(values, "plot_curves", f"curves[{label!r}]", ndim=1)
        xs = np.arange(len(v)) if x is None else np.asarray(x)[: len(v)]
        ax.plot(xs, v, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def dendrogram(Z, *, ax=None, labels: Sequence | None = None, cut: float | None = None,
               title: str | None = None):
    """Draw the dendrogram of a linkage matrix with ``scipy.cluster.hierarchy.dendrogram``.

    ``Z`` is in SciPy's format, so the linkage matrix of the from-scratch
    :func:`course_lib.scratch.cluster.agglomerative` is drawn by SciPy as it is (the layout is
    the one :func:`~course_lib.scratch.cluster.dendrogram_coords` computes). With ``cut`` (a
    height), a dashed line marks the cut and the links at or below it are coloured by the flat
    cluster they belong to, ``C0``, ``C1``, ... as :func:`~course_lib.scratch.cluster.cut_tree`
    numbers the clusters (so a scatter plot coloured by those labels matches); links above
    it are grey.

    Args:
        Z: (N − 1, 4) linkage matrix (e.g. from ``course_lib.scratch.cluster.agglomerative``).
        labels: N leaf names, default the point ids.
        cut: optional height at which to cut the tree.

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram
    from scipy.cluster.hierarchy import is_valid_linkage

    from course_lib.scratch.cluster import cut_tree

    Z = as_array(Z, "dendrogram", "Z", ndim=2).astype(np.float64)
    is_valid_linkage(Z, throw=True, name="Z")                      # SciPy's own format check
    N = len(Z) + 1
    if labels is not None and len(labels) != N:
        raise ValueError(f"dendrogram: got {N} leaves but {len(labels)} labels")
    if ax is None:
        _, ax = plt.subplots()
    colors = ["0.3"] * (N - 1)                                     # colour of link N + t
    if cut is not None:
        merged = int(np.sum(Z[:, 2] <= cut))                       # merges below the cut
        flat = cut_tree(Z, N - merged)                             # (N,) flat cluster ids
        leaf_of = list(range(N)) + [0] * (N - 1)                   # any leaf under each id
        for t in range(N - 1):
            leaf_of[N + t] = leaf_of[int(Z[t, 0])]
            if Z[t, 2] <= cut:
                colors[t] = f"C{flat[leaf_of[N + t]] % 10}"
        ax.axhline(cut, color="k", ls="--", lw=1)
    before = len(ax.collections)
    scipy_dendrogram(Z, ax=ax, labels=None if labels is None else [str(n) for n in labels],
                     link_color_func=lambda k: colors[k - N], leaf_font_size=7,
                     leaf_rotation=90)
    for links in ax.collections[before:]:
        links.set_linewidth(1.2)
    ax.set_ylim(0, 1.05 * max(float(Z[:, 2].max()), cut or 0.0))
    ax.set_ylabel("merge distance")
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


def draw_boxes(ax, boxes, labels: Sequence | None = None, scores: Sequence | None = None, *,
               color: str = "lime", linewidth: float = 1.5, linestyle: str = "-",
               fontsize: float = 7, image=None):
    """Draw xyxy boxes (pixels, x to the right, y down) on an Axes, with optional captions.

    Args:
        ax: the matplotlib Axes (an image shown with ``imshow`` lines up with pixel
            coordinates: pixel (row r, column c) covers [c − ½, c + ½] there, so the boxes are
            drawn shifted by −½ to enclose the pixels x1 .. x2 − 1).
        boxes: (K, 4) xyxy boxes (K may be 0).
        labels: K class labels (numbers or strings) shown at each box's top-left corner.
        scores: K scores in [0, 1], shown after the label.
        color, linewidth, linestyle, fontsize: the look.
        image: optional (H, W) or (1, H, W) image drawn first in grey. Over an image (this
            one or one already on the Axes) the view stays on the image; boxes reaching
            outside it are cut at its edge.

    Returns:
        The Axes.
    """
    from matplotlib.patches import Rectangle

    b = as_array(boxes, "draw_boxes", "boxes", ndim=(1, 2), allow_empty=True)
    b = b.astype(float).reshape(-1, 4)
    if b.size and ((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])).any():
        raise ValueError("draw_boxes: boxes must be xyxy with x2 >= x1 and y2 >= y1")
    for name, seq in (("labels", labels), ("scores", scores)):
        if seq is not None and len(seq) != len(b):
            raise ValueError(f"draw_boxes: got {len(b)} boxes but {len(seq)} {name}")
    if image is not None:
        img = np.asarray(image)
        ax.imshow(img.reshape(img.shape[-2:]), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    limits = (ax.get_xlim(), ax.get_ylim()) if ax.images else None
    for k, (x1, y1, x2, y2) in enumerate(b):
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                               edgecolor=color, linewidth=linewidth, linestyle=linestyle))
        caption = "" if labels is None else str(labels[k])
        if scores is not None:
            caption += f" {float(scores[k]):.2f}"
        if caption:
            ax.text(x1 - 0.5, y1 - 1, caption.strip(), color=color, fontsize=fontsize,
                    va="bottom", ha="left", clip_on=True)
    if limits:                                # over an image: stay on the image
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    return ax
