"""Draw the computational graph of a scalar :class:`~course_lib.scratch.autograd.Value`.

Matplotlib primitives only (no graphviz): each Value is a rounded box with its label,
data and grad; each operation is a small circle between its inputs and its output; arrows
run left to right. The column of a Value is its depth, the length of the longest path from
a leaf to it, so every arrow points right.
"""

from __future__ import annotations

from collections import defaultdict

from course_lib.scratch.autograd import Value, topological_order

__all__ = ["draw_graph"]

# Geometry in data units: value boxes are BOX_W × BOX_H, op circles have radius OP_R and
# sit OP_DX left of their output's box; columns are COL apart, rows ROW apart.
BOX_W, BOX_H, OP_R, OP_DX, COL, ROW = 1.6, 0.8, 0.25, 1.35, 3.2, 1.1
INCH_PER_UNIT = 0.65

_OP_SYMBOL = {"+": "+", "-": "−", "*": "×", "/": "÷", "neg": "−x", "exp": "exp", "log": "log",
              "tanh": "tanh", "sigmoid": "σ", "relu": "relu"}


def _depths(order: list[Value]) -> dict[Value, int]:
    """Longest path from a leaf: 0 for leaves, 1 + max over parents otherwise."""
    depth: dict[Value, int] = {}
    for v in order:                                   # parents come first in topological order
        depth[v] = 1 + max(depth[p] for p in v.parents) if v.parents else 0
    return depth


def _rows(order: list[Value], depth: dict[Value, int]) -> dict[Value, float]:
    """Vertical positions: each column sorted by the mean height of its neighbours
    (a few sweeps of the barycentre heuristic, which keeps crossings down)."""
    columns: dict[int, list[Value]] = defaultdict(list)
    for v in order:
        columns[depth[v]].append(v)
    children: dict[Value, list[Value]] = defaultdict(list)
    for v in order:
        for p in v.parents:
            children[p].append(v)

    y: dict[Value, float] = {}

    def place(col: list[Value]) -> None:
        top = (len(col) - 1) / 2 * ROW
        for i, v in enumerate(col):
            y[v] = top - i * ROW

    for col in columns.values():
        place(col)
    n_cols = max(columns) + 1
    for sweep in range(4):
        forward = sweep % 2 == 0
        for d in (range(1, n_cols) if forward else range(n_cols - 2, -1, -1)):
            def key(v, forward=forward):
                nb = v.parents if forward else children[v]
                return sum(y[u] for u in nb) / len(nb) if nb else y[v]
            columns[d].sort(key=key, reverse=True)
            place(columns[d])
    return y


def draw_graph(root: Value, ax=None, *, show_grad: bool = True, max_nodes: int = 150):
    """Draw the graph that computed ``root``, laid out left to right.

    Args:
        root: the output Value; every Value it depends on is drawn once.
        ax: a matplotlib Axes to draw into; a new figure sized to the graph when None.
        show_grad: also print each Value's ``.grad`` (call ``root.backward()`` first).
        max_nodes: refuse graphs with more Values than this (they would be unreadable;
            the layout is meant for about 20).

    Returns:
        The Axes. Value boxes are patches with gid "value", op circles gid "op".
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    if not isinstance(root, Value):
        raise TypeError(f"draw_graph: root must be a Value, got {type(root).__name__}")
    order = topological_order(root)
    if len(order) > max_nodes:
        raise ValueError(f"draw_graph: the graph has {len(order)} values, more than "
                         f"max_nodes={max_nodes}; draw a smaller expression")
    depth = _depths(order)
    y = _rows(order, depth)
    x = {v: depth[v] * COL for v in order}
    n_cols = max(depth.values()) + 1
    n_rows = max(sum(1 for v in order if depth[v] == d) for d in range(n_cols))
    if ax is None:
        width = (n_cols - 1) * COL + BOX_W + 0.6
        height = n_rows * ROW + 0.4
        fig, ax = plt.subplots(figsize=(max(3.0, width * INCH_PER_UNIT),
                                        max(1.5, height * INCH_PER_UNIT)))
        fig.subplots_adjust(left=0, right=1, bottom=0, top=1)

    arrow = dict(arrowstyle="-|>", mutation_scale=9, color="0.35", lw=0.9,
                 shrinkA=0, shrinkB=0)
    for v in order:
        colour = "#cfe3f7" if not v.parents else "#fbe0c4" if v is root else "#eeeeee"
        box = FancyBboxPatch((x[v] - BOX_W / 2, y[v] - BOX_H / 2), BOX_W, BOX_H,
                             boxstyle="round,pad=0,rounding_size=0.1", fc=colour, ec="0.3",
                             lw=0.8, zorder=2)
        box.set_gid("value")
        ax.add_patch(box)
        lines = [f"data {v.data:.4g}"] + ([f"grad {v.grad:.4g}"] if show_grad else [])
        if v.label:
            lines.insert(0, v.label)
        for i, line in enumerate(lines):              # the label in bold, then data and grad
            ax.text(x[v], y[v] + (len(lines) - 1) / 2 * 0.23 - i * 0.23, line, ha="center",
                    va="center", fontsize=7.5, zorder=3,
                    fontweight="bold" if v.label and i == 0 else "normal")
        if not v.parents:
            continue
        cx, cy = x[v] - OP_DX, y[v]
        circle = Circle((cx, cy), OP_R, fc="white", ec="0.3", lw=0.8, zorder=2)
        circle.set_gid("op")
        ax.add_patch(circle)
        symbol = _OP_SYMBOL.get(v.op, v.op.replace("**", "^") if v.op.startswith("**") else v.op)
        ax.text(cx, cy, symbol, ha="center", va="center", zorder=3,
                fontsize=8 if len(symbol) <= 2 else 6)
        ax.add_patch(FancyArrowPatch((cx + OP_R, cy), (x[v] - BOX_W / 2, y[v]), zorder=1,
                                     **arrow))
        seen: dict[Value, int] = defaultdict(int)
        for p in v.parents:                           # a parent used twice gets two arrows
            bend = 0.25 * seen[p] * (1 if seen[p] % 2 else -1)
            seen[p] += 1
            ax.add_patch(FancyArrowPatch((x[p] + BOX_W / 2, y[p]), (cx - OP_R, cy), zorder=1,
                                         connectionstyle=f"arc3,rad={bend}", **arrow))

    xs, ys = list(x.values()), list(y.values())
    ax.set_xlim(min(xs) - BOX_W / 2 - 0.3, max(xs) + BOX_W / 2 + 0.3)
    ax.set_ylim(min(ys) - BOX_H / 2 - 0.2, max(ys) + BOX_H / 2 + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
