"""Scratch (NumPy) against PyTorch, timed side by side in one process.

``python -m course_lib.bench`` times the from-scratch layers of :mod:`course_lib.scratch`
against their PyTorch counterparts on fixed shapes (the ones the chapters train), prints a
markdown table and saves a bar chart of the ratios::

    python -m course_lib.bench                   # full run, float32 and float64 (about a minute)
    python -m course_lib.bench --quick           # tiny shapes, a few seconds
    python -m course_lib.bench --dtype float32 --plot bench.png --only conv2d

How it measures, so that the ratio is fair:

- both libraries get the same number of threads (``--threads``, default 2; NumPy's BLAS via
  threadpoolctl, the scratch code's batch split via ``course_lib.scratch.parallel.set_threads``,
  PyTorch via ``torch.set_num_threads``), and the counts are printed;
- the runs are **interleaved** (scratch, torch, scratch, torch, ...), so a neighbour that
  loads the machine for a while slows both sides, not one;
- each row reports the **median** time of each side and the ratio of the medians, with the
  spread of the per-pair ratios (their 25th–75th percentiles);
- ``OMP_WAIT_POLICY=PASSIVE`` is set before PyTorch loads (unless already set): otherwise
  PyTorch's OpenMP threads keep spinning after each call and slow NumPy's next sample, which
  made rows jump by up to 25x between runs (the policy is printed with the thread counts);
- "fwd" is the forward pass that keeps what the backward pass needs (the scratch cache; torch
  with ``requires_grad``), "fwd+bwd" is the forward pass followed by the backward pass.

The notebooks call :func:`time_pair`, :func:`run_case` and :func:`markdown_table` directly.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["time_pair", "Case", "run_case", "run_benchmarks", "markdown_table", "thread_info",
           "plot_ratios", "main", "conv2d_case", "max_pool_case", "lstm_case", "gru_case",
           "sdpa_case", "mha_case", "batchnorm_case", "layernorm_case", "mlp_step_case",
           "FULL_CASES", "QUICK_CASES"]


# ---------------------------------------------------------------------------------------------
# 1. Timing two functions side by side
# ---------------------------------------------------------------------------------------------

def _calls_per_sample(fn: Callable[[], object], min_seconds: float) -> int:
    """How many calls of fn make one timed sample last at least ``min_seconds``."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    return max(1, int(np.ceil(min_seconds / max(once, 1e-9))))


def time_pair(scratch_fn: Callable[[], object], torch_fn: Callable[[], object],
              repeats: int = 15, warmup: int = 2, min_seconds: float = 1e-2,
              pause: float = 0.0) -> dict:
    """Time two functions of no argument, interleaved, and compare their medians.

    Each of the ``repeats`` rounds runs ``scratch_fn`` then ``torch_fn`` (each called often
    enough that one sample lasts ``min_seconds``), so both see the same load on the machine.

    Args:
        scratch_fn, torch_fn: the two computations, e.g. ``lambda: conv2d_forward(x, w)``.
        repeats: the number of interleaved rounds (≥ 1); warmup: untimed rounds first.
        min_seconds: the least duration of one sample (short calls are repeated). Both
            libraries keep their worker threads spinning for a moment after a call, which
            slows the first call of the other library's sample; long samples dilute this.
        pause: seconds of untimed sleep before each sample (0 by default: on a virtual
            machine, threads woken from sleep can be slower than spinning ones).

    Returns:
        dict with ``scratch_ms`` and ``torch_ms`` (median time of one call, in ms), ``ratio``
        (scratch / torch, of the medians) and ``ratio_lo``, ``ratio_hi`` (25th and 75th
        percentiles of the per-round ratios), ``repeats``.
    """
    if repeats < 1:
        raise ValueError(f"time_pair: repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        scratch_fn()
        torch_fn()
    n_s = _calls_per_sample(scratch_fn, min_seconds)
    n_t = _calls_per_sample(torch_fn, min_seconds)
    t_s, t_t = np.empty(repeats), np.empty(repeats)
    for r in range(repeats):
        for times, fn, n in ((t_s, scratch_fn, n_s), (t_t, torch_fn, n_t)):
            if pause:
                time.sleep(pause)
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times[r] = (time.perf_counter() - start) / n
    per_round = t_s / t_t
    return {"scratch_ms": 1e3 * float(np.median(t_s)), "torch_ms": 1e3 * float(np.median(t_t)),
            "ratio": float(np.median(t_s) / np.median(t_t)),
            "ratio_lo": float(np.percentile(per_round, 25)),
            "ratio_hi": float(np.percentile(per_round, 75)), "repeats": repeats}


# ---------------------------------------------------------------------------------------------
# 2. The cases: one layer, its shape, and a scratch and a torch version of the same work
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One benchmark: a ``name``, a readable ``shape`` and ``make(dtype, backward)``, which
    builds the inputs and returns ``(scratch_fn, torch_fn)``, two functions of no argument."""

    name: str
    shape: str
    make: Callable[[str, bool], tuple[Callable[[], object], Callable[[], object]]] = \
        field(repr=False)


def _arrays(seed: int, dtype: str, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _torch_pair(arrays: Sequence[np.ndarray], grad: bool):
    import torch
    return [torch.tensor(a, requires_grad=grad) for a in arrays]


def _torch_step(forward: Callable[[], object], backward: bool, dout=None):
    """A torch function of no argument: forward, then (if asked) backward from ``dout``."""
    def run():
        out = forward()
        if backward:
            out.backward(dout)
        return out
    return run


def conv2d_case(N: int, C: int, H: int, W: int, F: int, k: int, pad: int) -> Case:
    """conv2d of x (N, C, H, W) with w (F, C, k, k), stride 1, ``pad`` zeros: im2col vs
    ``F.conv2d``."""
    def make(dtype, backward):
        import torch.nn.functional as tF

        from course_lib.scratch.conv import conv2d_backward, conv2d_forward
        x, w, b, g = _arrays(0, dtype, (N, C, H, W), (F, C, k, k), (F,),
                             (N, F, H + 2 * pad - k + 1, W + 2 * pad - k + 1))
        xt, wt, bt = _torch_pair((x, w, b), True)
        gt = _torch_pair((g,), False)[0]

        def scratch():
            out, cache = conv2d_forward(x, w, b, padding=pad)
            return conv2d_backward(g, cache) if backward else out
        return scratch, _torch_step(lambda: tF.conv2d(xt, wt, bt, padding=pad), backward, gt)
    return Case("conv2d", f"{N}×{C}×{H}×{W} * {F}×{C}×{k}×{k} pad {pad}", make)


def max_pool_case(N: int, C: int, H: int, W: int, k: int) -> Case:
    """k × k max pooling with stride k: im2col + argmax vs ``F.max_pool2d``."""
    def make(dtype, backward):
        import torch.nn.functional as tF

        from course_lib.scratch.pool import max_pool2d_backward, max_pool2d_forward
        x, g = _arrays(1, dtype, (N, C, H, W), (N, C, H // k, W // k))
        (xt,), gt = _torch_pair((x,), True), _torch_pair((g,), False)[0]

        def scratch():
            out, cache = max_pool2d_forward(x, k)
            return max_pool2d_backward(g, cache) if backward else out
        return scratch, _torch_step(lambda: tF.max_pool2d(xt, k), backward, gt)
    return Case("max_pool2d", f"{N}×{C}×{H}×{W}, {k}×{k} stride {k}", make)


def _rnn_case(kind: str, N: int, T: int, D: int, H: int) -> Case:
    gates = {"lstm": 4, "gru": 3}[kind]

    def make(dtype, backward):
        import torch

        from course_lib.scratch import gru, lstm
        torch.manual_seed(0)
        module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](D, H, batch_first=True)
        module = module.to(getattr(torch, dtype))
        w = [p.detach().numpy().copy() for p in module.parameters()]   # w_ih, w_hh, b_ih, b_hh
        x, h0, g = _arrays(2, dtype, (N, T, D), (N, H), (N, T, H))
        xt, h0t = _torch_pair((x, h0), True)
        gt = _torch_pair((g,), False)[0]
        if kind == "lstm":
            Wx, Wh, b = lstm.lstm_params_from_torch(*w)
            c0t = torch.zeros(1, N, H, dtype=getattr(torch, dtype))

            def scratch():
                out, cache = lstm.lstm_forward(x, h0, Wx, Wh, b)
                return lstm.lstm_backward(g, cache) if backward else out

            def forward():
                return module(xt, (h0t[None], c0t))[0]
        else:
            Wx, Wh, bx, bh = gru.gru_params_from_torch(*w)

            def scratch():
                out, cache = gru.gru_forward(x, h0, Wx, Wh, bx, bh)
                return gru.gru_backward(g, cache) if backward else out

            def forward():
                return module(xt, h0t[None])[0]
        assert Wx.shape == (D, gates * H)
        return scratch, _torch_step(forward, backward, gt)
    return Case(kind, f"N={N}, T={T}, D={D}, H={H}", make)


def lstm_case(N: int, T: int, D: int, H: int) -> Case:
    """An LSTM layer over (N, T, D) with H hidden units: scratch vs ``nn.LSTM``."""
    return _rnn_case("lstm", N, T, D, H)


def gru_case(N: int, T: int, D: int, H: int) -> Case:
    """A GRU layer over (N, T, D) with H hidden units: scratch vs ``nn.GRU``."""
    return _rnn_case("gru", N, T, D, H)


def sdpa_case(B: int, h: int, T: int, d: int, causal: bool = True) -> Case:
    """Scaled dot-product attention on (B, h, T, d), with a causal mask or none, vs
    ``F.scaled_dot_product_attention``."""
    def make(dtype, backward):
        import torch.nn.functional as tF

        from course_lib.scratch.attention import (
            causal_mask,
            scaled_dot_product_attention,
            scaled_dot_product_attention_backward,
        )
        Q, K, V, g = _arrays(3, dtype, *[(B, h, T, d)] * 4)
        mask = causal_mask(T) if causal else None
        Qt, Kt, Vt = _torch_pair((Q, K, V), True)
        gt = _torch_pair((g,), False)[0]

        def scratch():
            out, cache = scaled_dot_product_attention(Q, K, V, mask)
            return scaled_dot_product_attention_backward(g, cache) if backward else out

        def forward():
            return tF.scaled_dot_product_attention(Qt, Kt, Vt, is_causal=causal)
        return scratch, _torch_step(forward, backward, gt)
    return Case("attention", f"{B}×{h}×{T}×{d}" + (" causal" if causal else ""), make)


def mha_case(B: int, T: int, E: int, n_heads: int) -> Case:
    """Multi-head self-attention on (B, T, E) with ``n_heads`` heads and a causal mask vs
    ``nn.MultiheadAttention(batch_first=True, need_weights=False)``."""
    def make(dtype, backward):
        import torch

        from course_lib.scratch.attention import (
            causal_mask,
            mha_params_from_torch,
            multihead_attention_backward,
            multihead_attention_forward,
        )
        torch.manual_seed(0)
        module = torch.nn.MultiheadAttention(E, n_heads, batch_first=True)
        module = module.to(getattr(torch, dtype))
        params = {k: v.astype(dtype) for k, v in mha_params_from_torch(module).items()}
        x, g = _arrays(4, dtype, (B, T, E), (B, T, E))
        mask = causal_mask(T)
        (xt,), gt = _torch_pair((x,), True), _torch_pair((g,), False)[0]
        blocked = torch.from_numpy(~mask)                    # torch's convention: True = blocked

        def scratch():
            out, cache = multihead_attention_forward(x, x, x, params, n_heads, mask)
            return multihead_attention_backward(g, cache) if backward else out

        def forward():
            return module(xt, xt, xt, attn_mask=blocked, need_weights=False)[0]
        return scratch, _torch_step(forward, backward, gt)
    return Case("multi-head attention", f"B={B}, T={T}, E={E}, {n_heads} heads causal", make)


def batchnorm_case(N: int, C: int, H: int, W: int) -> Case:
    """Batch normalisation (training mode) of (N, C, H, W) vs ``F.batch_norm``."""
    def make(dtype, backward):
        import torch
        import torch.nn.functional as tF

        from course_lib.scratch.norm import batchnorm_backward, batchnorm_forward
        x, gamma, beta, g = _arrays(5, dtype, (N, C, H, W), (C,), (C,), (N, C, H, W))
        xt, gt_, bt = _torch_pair((x, gamma, beta), True)
        gt = _torch_pair((g,), False)[0]
        state = {"running_mean": np.zeros(C, dtype), "running_var": np.ones(C, dtype)}
        rm, rv = torch.zeros(C, dtype=xt.dtype), torch.ones(C, dtype=xt.dtype)

        def scratch():
            out, cache = batchnorm_forward(x, gamma, beta, state, train=True)
            return batchnorm_backward(g, cache) if backward else out

        def forward():
            return tF.batch_norm(xt, rm, rv, gt_, bt, training=True)
        return scratch, _torch_step(forward, backward, gt)
    return Case("batchnorm", f"{N}×{C}×{H}×{W}", make)


def layernorm_case(B: int, T: int, E: int) -> Case:
    """Layer normalisation over the last axis of (B, T, E) vs ``F.layer_norm``."""
    def make(dtype, backward):
        import torch.nn.functional as tF

        from course_lib.scratch.norm import layernorm_backward, layernorm_forward
        x, gamma, beta, g = _arrays(6, dtype, (B, T, E), (E,), (E,), (B, T, E))
        xt, gt_, bt = _torch_pair((x, gamma, beta), True)
        gt = _torch_pair((g,), False)[0]

        def scratch():
            out, cache = layernorm_forward(x, gamma, beta)
            return layernorm_backward(g, cache) if backward else out
        return scratch, _torch_step(lambda: tF.layer_norm(xt, (E,), gt_, bt), backward, gt)
    return Case("layernorm", f"{B}×{T}×{E}", make)


def mlp_step_case(N: int, sizes: Sequence[int]) -> Case:
    """One SGD training step (forward, cross-entropy, backward, update) of a ReLU MLP with
    layer ``sizes`` on a batch of N: scratch ``mlp_loss`` + ``sgd_step`` vs an ``nn.Sequential``.
    The "fwd" row is the forward pass and the loss alone."""
    sizes = tuple(sizes)

    def make(dtype, backward):
        import torch
        import torch.nn.functional as tF

        from course_lib.scratch.mlp import init_mlp, mlp_forward, mlp_loss, sgd_step
        params = init_mlp(sizes, rng=np.random.default_rng(7), dtype=dtype)
        (X,) = _arrays(8, dtype, (N, sizes[0]))
        y = np.random.default_rng(9).integers(0, sizes[-1], size=N)
        layers = []
        for i in range(1, len(sizes)):
            lin = torch.nn.Linear(sizes[i - 1], sizes[i]).to(getattr(torch, dtype))
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(params[f"W{i}"].T))
                lin.bias.zero_()
            layers += [lin, torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def scratch():
            if not backward:
                return mlp_forward(params, X)[0]
            loss, grads = mlp_loss(params, X, y)
            sgd_step(params, grads, 1e-3)
            return loss

        def torch_fn():
            loss = tF.cross_entropy(model(Xt), yt)
            if backward:
                opt.zero_grad()
                loss.backward()
                opt.step()
            return loss
        return scratch, torch_fn
    return Case("MLP step", f"N={N}, " + "-".join(map(str, sizes)), make)


#: The shapes of the full run: conv2d and LSTM as in issue 22 (the first conv2d is LeNet's
#: first layer on an MNIST batch, chapter 08), the rest the sizes chapters 09-13 train.
FULL_CASES: list[Case] = [
    conv2d_case(64, 1, 28, 28, 6, 5, 2),
    conv2d_case(64, 16, 14, 14, 32, 3, 1),
    conv2d_case(32, 64, 16, 16, 64, 3, 1),
    max_pool_case(64, 6, 28, 28, 2),
    max_pool_case(32, 64, 16, 16, 2),
    lstm_case(32, 50, 64, 128),
    lstm_case(64, 100, 32, 64),
    gru_case(32, 50, 64, 128),
    sdpa_case(32, 4, 64, 32),
    mha_case(32, 64, 128, 4),
    batchnorm_case(64, 32, 14, 14),
    layernorm_case(32, 64, 128),
    mlp_step_case(128, (784, 256, 10)),
]

#: Tiny shapes for ``--quick`` and the unit test: checks that everything runs, times nothing.
QUICK_CASES: list[Case] = [
    conv2d_case(2, 1, 8, 8, 3, 3, 1), max_pool_case(2, 3, 8, 8, 2), lstm_case(2, 4, 3, 5),
    gru_case(2, 4, 3, 5), sdpa_case(2, 2, 6, 4), mha_case(2, 6, 8, 2),
    batchnorm_case(4, 3, 4, 4), layernorm_case(2, 3, 8), mlp_step_case(8, (12, 16, 3)),
]


# ---------------------------------------------------------------------------------------------
# 3. Running cases, threads, the table and the chart
# ---------------------------------------------------------------------------------------------

@contextmanager
def _threads(n: int | None):
    """Give NumPy's BLAS, the scratch code's batch split and PyTorch ``n`` threads each (None:
    leave them as they are)."""
    import torch
    from threadpoolctl import threadpool_limits

    from course_lib.scratch import parallel
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n), parallel.use_threads(n):
            yield
    finally:
        torch.set_num_threads(before)


def thread_info() -> str:
    """One line with the thread counts NumPy's BLAS, the scratch code's batch split
    (:mod:`course_lib.scratch.parallel`) and PyTorch will use right now."""
    import torch
    from threadpoolctl import threadpool_info

    from course_lib.scratch.parallel import get_threads
    blas = [f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()
            if p["user_api"] == "blas"]
    return (f"threads: NumPy BLAS {', '.join(blas) or 'unknown'}; scratch batch split "
            f"{get_threads()}; PyTorch intra-op {torch.get_num_threads()}; OMP_WAIT_POLICY "
            f"{os.environ.get('OMP_WAIT_POLICY', 'unset (OpenMP threads spin after each call)')}")


def run_case(case: Case, dtype: str = "float32", backward: bool = True, repeats: int = 15,
             threads: int | None = None, min_seconds: float = 1e-2) -> dict:
    """Time one case (see :func:`time_pair`) and return a row for :func:`markdown_table`.

    Args:
        case: e.g. ``conv2d_case(64, 1, 28, 28, 6, 5, 2)``; dtype: "float32" or "float64";
        backward: forward + backward (True) or the forward pass alone; repeats: rounds;
        threads: threads for both libraries (None: as they are); min_seconds: as in
        :func:`time_pair`.

    Returns:
        dict with ``name``, ``shape``, ``dtype``, ``pass`` and the keys of :func:`time_pair`.
    """
    if dtype not in ("float32", "float64"):
        raise ValueError(f"run_case: dtype must be 'float32' or 'float64', got {dtype!r}")
    with _threads(threads):
        scratch_fn, torch_fn = case.make(dtype, backward)
        timing = time_pair(scratch_fn, torch_fn, repeats=repeats, min_seconds=min_seconds)
    return {"name": case.name, "shape": case.shape, "dtype": dtype,
            "pass": "fwd+bwd" if backward else "fwd", **timing}


def run_benchmarks(quick: bool = False, dtypes: Sequence[str] = ("float32", "float64"),
                   passes: Sequence[bool] = (False, True), repeats: int | None = None,
                   threads: int | None = 2, only: str | None = None,
                   progress: Callable[[dict], None] | None = None) -> list[dict]:
    """Run every case (``QUICK_CASES`` when ``quick``) in every dtype and pass.

    Args:
        quick: tiny shapes, 3 rounds of one call each; dtypes, passes (False = fwd, True = fwd+bwd);
        repeats: rounds per row (default 15, 3 when quick); threads: for both libraries;
        only: keep the cases whose name contains this text; progress: called with each row.

    Returns:
        the rows, in the order of the table.
    """
    cases = QUICK_CASES if quick else FULL_CASES
    repeats = repeats or (3 if quick else 15)
    rows = []
    for case in cases:
        if only and only not in case.name:
            continue
        for dtype in dtypes:
            for backward in passes:
                row = run_case(case, dtype, backward, repeats, threads,
                               min_seconds=0.0 if quick else 1e-2)
                rows.append(row)
                if progress:
                    progress(row)
    return rows


def markdown_table(rows: Sequence[dict]) -> str:
    """The rows of :func:`run_benchmarks` as a markdown table (ratio = scratch / torch)."""
    lines = ["| layer | shape | dtype | pass | scratch (ms) | torch (ms) | ratio | ratio IQR |",
             "|---|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['shape']} | {r['dtype']} | {r['pass']} | "
                     f"{r['scratch_ms']:.3f} | {r['torch_ms']:.3f} | {r['ratio']:.2f}× | "
                     f"{r['ratio_lo']:.2f}–{r['ratio_hi']:.2f} |")
    return "\n".join(lines)


def plot_ratios(rows: Sequence[dict], path: str | Path, target: float = 1.5) -> Path:
    """A horizontal bar chart of the ratios (log scale), with lines at 1 and ``target``;
    saved as a PNG at ``path``, which is returned."""
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = [f"{r['name']} {r['shape']} {r['dtype']} {r['pass']}" for r in rows]
    ratios = np.array([r["ratio"] for r in rows])
    err = np.array([[r["ratio"] - r["ratio_lo"] for r in rows],
                    [r["ratio_hi"] - r["ratio"] for r in rows]]).clip(min=0)
    fig, ax = plt.subplots(figsize=(11, 0.28 * len(rows) + 1.2))
    colors = ["tab:green" if q <= target else "tab:red" for q in ratios]
    ax.barh(np.arange(len(rows)), ratios, xerr=err, color=colors)
    ax.axvline(1.0, color="k", lw=1)
    ax.axvline(target, color="k", lw=1, ls="--", label=f"target {target}×")
    ax.set_yticks(np.arange(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("time of the scratch code / time of PyTorch (median; bars: IQR)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """The command line: ``python -m course_lib.bench [--quick] [--plot PATH] [--dtype ...]``."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.bench", description=__doc__
                                     .split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, 3 rounds")
    parser.add_argument("--plot", default="bench.png", help="PNG path of the bar chart "
                        "(default: bench.png in the current folder)")
    parser.add_argument("--dtype", nargs="+", choices=("float32", "float64"),
                        default=["float32", "float64"])
    parser.add_argument("--pass", dest="passes", nargs="+", choices=("fwd", "fwd+bwd"),
                        default=["fwd", "fwd+bwd"])
    parser.add_argument("--repeats", type=int, default=None, help="rounds per row")
    parser.add_argument("--threads", type=int, default=2, help="threads for both libraries")
    parser.add_argument("--only", default=None, help="only the layers whose name contains this")
    args = parser.parse_args(argv)
    # PyTorch's OpenMP threads spin for a while after each call (the default wait policy), and
    # in interleaved runs they steal the cores from NumPy's BLAS threads in the next sample:
    # single rows then moved by up to 25x between runs on the 2-core CI machine, against about
    # ±10 % with passive waiting. OpenMP reads the policy when PyTorch loads, so set it first.
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with _threads(args.threads):
        print(thread_info())
    rows = run_benchmarks(args.quick, args.dtype, [p == "fwd+bwd" for p in args.passes],
                          args.repeats, args.threads, args.only)
    print(markdown_table(rows))
    if rows:
        print(f"bar chart: {plot_ratios(rows, args.plot)}")
    return rows


if __name__ == "__main__":
    main()
