"""Autoencoders in PyTorch: fully connected, convolutional, denoising, stacked.

An autoencoder (自编码器) is trained to give back its input through a narrow code:
``x → encoder → z → decoder → x̂`` with the loss ‖x̂ − x‖², so that z must keep what matters
about x (Rumelhart, Hinton & Williams 1986; Hinton & Salakhutdinov, "Reducing the
dimensionality of data with neural networks", Science 2006).

- :class:`MLPAutoencoder`: fully connected, mirrored layer sizes, e.g. 784-128-32-2-32-128-784.
- :class:`ConvAutoencoder`: a conv/max-pool encoder for (N, 1, 28, 28) images whose decoder
  grows the image back either with transposed convolutions or with max-unpooling at the
  positions the encoder's pooling remembered.
- :func:`fit_autoencoder`: Adam on mini-batches for a fixed number of steps; with
  ``corrupt`` it trains a **denoising** autoencoder, noisy input and clean target (Vincent,
  Larochelle, Bengio & Manzagol, ICML 2008).
- :func:`pretrain_stack` and :func:`stack_into_mlp`: **greedy layer-wise pretraining**, one
  autoencoder per layer trained on the codes of the layer below, then copied into an
  :class:`~course_lib.torch_ref.mlp.MLP` for supervised fine-tuning (Hinton, Osindero & Teh
  2006; Bengio, Lamblin, Popovici & Larochelle, "Greedy layer-wise training of deep
  networks", NeurIPS 2006).
- :func:`fit_classifier`: full-batch Adam on the cross-entropy, for the fine-tuning.

Both training functions hand their batches to :func:`course_lib.training.fit_steps`, the
course's step loop; every model takes ``seed`` for its initial weights (None: the global
generator).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.validate import check_int, check_positive
from course_lib.torch_ref.mlp import MLP
from course_lib.training import eval_mode, fit_steps, model_device, to_device

_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}

__all__ = ["MLPAutoencoder", "ConvAutoencoder", "fit_autoencoder", "gaussian_noise",
           "masking_noise", "reconstruction_errors", "pretrain_stack", "stack_into_mlp",
           "fit_classifier"]


def _sizes(sizes: Sequence[int], where: str) -> list[int]:
    sizes = list(sizes)
    if len(sizes) < 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                                 for s in sizes):
        raise ValueError(f"{where}: sizes must be at least two positive ints "
                         f"[d_in, ..., d_code], got {sizes}")
    return sizes


def _activation(name: str, where: str) -> type[nn.Module]:
    if name not in _ACTIVATIONS:
        raise ValueError(f"{where}: activation must be one of {sorted(_ACTIVATIONS)}, "
                         f"got {name!r}")
    return _ACTIVATIONS[name]


class MLPAutoencoder(nn.Module):
    """Fully connected autoencoder with mirrored sizes.

    ``sizes = [784, 128, 32, 2]`` gives the encoder 784→128→32→2 (activation after every
    layer but the last: the code is linear) and the decoder 2→32→128→784 with a sigmoid at
    the end, so x̂ lies in (0, 1) like the pixels.

    Args:
        sizes: [d_in, h_1, ..., d_code].
        activation: hidden activation (see :class:`~course_lib.torch_ref.mlp.MLP`).
        out: ``"sigmoid"`` (inputs in [0, 1]) or ``"linear"``.
        seed: seed for the initial weights (None: the global generator).

    Shapes: ``forward`` (N, d_in) or (N, *) flattened → (N, d_in); ``encode`` → (N, d_code).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", out: str = "sigmoid", *,
                 seed: int | None = None):
        super().__init__()
        sizes = _sizes(sizes, "MLPAutoencoder")
        act = _activation(activation, "MLPAutoencoder")
        if out not in ("sigmoid", "linear"):
            raise ValueError(f"MLPAutoencoder: out must be 'sigmoid' or 'linear', got {out!r}")
        self.sizes = sizes

        def stack(widths: list[int]) -> list[nn.Module]:
            layers: list[nn.Module] = []
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
                layers.append(nn.Linear(a, b))
                if i < len(widths) - 2:
                    layers.append(act())
            return layers

        with seeded(seed, "MLPAutoencoder"):
            self.encoder = nn.Sequential(*stack(sizes))
            self.decoder = nn.Sequential(*stack(sizes[::-1]),
                                         *([nn.Sigmoid()] if out == "sigmoid" else []))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)                                           # (N, d_in)
        if x.shape[1] != self.sizes[0]:
            raise ValueError(f"MLPAutoencoder: expected inputs with {self.sizes[0]} features, "
                             f"got shape {tuple(x.shape)}")
        return self.encoder(x)                                     # (N, d_code)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)                                     # (N, d_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for (N, 1, 28, 28) images with a (N, c2, 7, 7) code.

    Encoder: conv 3×3 (1→c1) · ReLU · max-pool 2 → (c1, 14, 14) · conv 3×3 (c1→c2) · ReLU ·
    max-pool 2 → (c2, 7, 7). Decoder, by ``upsample``:

    - ``"transpose"``: ConvTranspose 3×3 stride 2 (c2→c1) · ReLU · ConvTranspose 3×3 stride 2
      (c1→1) · sigmoid; each doubles the size, (7 − 1)·2 − 2·1 + 3 + 1 = 14, then 28.
    - ``"unpool"``: max-unpool 2 (with the second pooling's indices) · conv 3×3 (c2→c1) · ReLU
      · max-unpool 2 (first pooling's indices) · conv 3×3 (c1→1) · sigmoid. The indices tell
      the decoder where each maximum was: extra information besides the code (SegNet).

    Args:
        upsample: "transpose" or "unpool". channels: (c1, c2).
        seed: seed for the initial weights (None: the global generator).
    """

    def __init__(self, upsample: str = "transpose", channels: tuple[int, int] = (8, 4), *,
                 seed: int | None = None):
        super().__init__()
        if upsample not in ("transpose", "unpool"):
            raise ValueError(f"ConvAutoencoder: upsample must be 'transpose' or 'unpool', "
                             f"got {upsample!r}")
        c1, c2 = _sizes(channels, "ConvAutoencoder")
        self.upsample = upsample
        with seeded(seed, "ConvAutoencoder"):
            self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
            self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
            if upsample == "transpose":
                self.up1 = nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1)
                self.up2 = nn.ConvTranspose2d(c1, 1, 3, stride=2, padding=1, output_padding=1)
            else:
                self.up1 = nn.Conv2d(c2, c1, 3, padding=1)
                self.up2 = nn.Conv2d(c1, 1, 3, padding=1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(N, 1, 28, 28) → code (N, c2, 7, 7) and the two poolings' indices."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"ConvAutoencoder: x must be (N, 1, 28, 28), got "
                             f"{tuple(x.shape)}; add the channel axis with x.unsqueeze(1)")
        h, i1 = F.max_pool2d(F.relu(self.conv1(x)), 2, return_indices=True)   # (N, c1, 14, 14)
        z, i2 = F.max_pool2d(F.relu(self.conv2(h)), 2, return_indices=True)   # (N, c2, 7, 7)
        return z, (i1, i2)

    def decode(self, z: torch.Tensor, indices: tuple[torch.Tensor, torch.Tensor]
               ) -> torch.Tensor:
        """Code (N, c2, 7, 7) → (N, 1, 28, 28); ``indices`` are used by "unpool" only."""
        if self.upsample == "transpose":
            h = F.relu(self.up1(z))                                # (N, c1, 14, 14)
            return torch.sigmoid(self.up2(h))                      # (N, 1, 28, 28)
        i1, i2 = indices
        h = F.relu(self.up1(F.max_unpool2d(z, i2, 2)))            # (N, c1, 14, 14)
        return torch.sigmoid(self.up2(F.max_unpool2d(h, i1, 2)))  # (N, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, indices = self.encode(x)
        return self.decode(z, indices)


def gaussian_noise(sigma: float) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """A corruption for :func:`fit_autoencoder`: x + σ·ε, ε ~ N(0, 1), clipped to [0, 1]."""
    sigma = check_positive(sigma, "gaussian_noise", "sigma", allow_zero=True)

    def corrupt(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)   # on the CPU
        return (x + sigma * noise.to(x.device)).clamp(0.0, 1.0)

    return corrupt


def masking_noise(p: float) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """A corruption for :func:`fit_autoencoder`: each input set to 0 with probability p."""
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p < 1:
        raise ValueError(f"masking_noise: p must be in [0, 1), got {p!r}")

    def corrupt(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        keep = torch.rand(x.shape, generator=generator) >= p                # on the CPU
        return x * keep.to(device=x.device, dtype=x.dtype)

    return corrupt


def fit_autoencoder(model: nn.Module, X: torch.Tensor, *, steps: int, batch_size: int = 128,
                    lr: float = 3e-3, seed: int = 0,
                    corrupt: Callable[[torch.Tensor, torch.Generator], torch.Tensor]
                    | None = None, progress: bool = True, desc: str = "autoencoder"
                    ) -> list[float]:
    """Train ``model`` to reconstruct X with Adam and the mean squared error, for ``steps`` steps.

    Each step draws ``batch_size`` rows of X at random (a seeded ``torch.Generator`` on the
    CPU, so runs repeat exactly), moves them to the model's device, computes
    ``mse(model(corrupt(x)), x)`` (``corrupt`` None: the identity) and takes one Adam step
    (Kingma & Ba 2015), in :func:`course_lib.training.fit_steps`.

    Args:
        model: maps a batch of X to a batch of the same shape; in evaluation mode afterwards.
        X: (N, ...) float tensor of training inputs (and targets), on any device.
        steps: number of optimiser steps (the run is bounded by steps, never by time).
        seed: seed of the batches and of the corruption.
        corrupt: ``corrupt(x, generator) -> x_noisy`` for a denoising autoencoder, e.g.
            :func:`gaussian_noise` or :func:`masking_noise`.
        progress: show a ``tqdm.auto`` bar.

    Returns:
        The training loss of every step (a list of ``steps`` floats).
    """
    where = "fit_autoencoder"
    if not isinstance(model, nn.Module):
        raise TypeError(f"{where}: model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(X, torch.Tensor) or not X.is_floating_point() or X.ndim < 2:
        raise TypeError(f"{where}: X must be a float tensor (N, ...), got "
                        f"{type(X).__name__} {getattr(X, 'shape', '')}")
    steps = check_int(steps, where, "steps", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    device = model_device(model)
    gen = torch.Generator().manual_seed(check_int(seed, where, "seed", low=0))   # on the CPU

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, len(X), (batch_size,), generator=gen)
        x = to_device(X[idx.to(X.device)], device)                  # (batch_size, ...)
        x_in = corrupt(x, gen) if corrupt is not None else x
        return x_in, x                                              # input, target

    return fit_steps(model, batch, F.mse_loss, steps=steps, lr=lr, clip=None,
                     progress=progress, desc=desc)


@torch.no_grad()
def reconstruction_errors(model: nn.Module, X: torch.Tensor, batch_size: int = 1000
                          ) -> torch.Tensor:
    """Per-sample mean squared reconstruction error ‖model(x) − x‖² / d: (N, ...) → (N,)."""
    device = model_device(model)
    with eval_mode(model):
        out = [((model(xb) - xb) ** 2).flatten(1).mean(1)
               for xb in to_device(X, device).split(batch_size)]
    return torch.cat(out)


def pretrain_stack(X: torch.Tensor, sizes: Sequence[int], *, steps: int,
                   activation: str = "sigmoid", batch_size: int = 128, lr: float = 3e-3,
                   seed: int = 0, progress: bool = True,
                   corrupt: Callable[[torch.Tensor, torch.Generator], torch.Tensor]
                   | None = None) -> tuple[list[nn.Linear], list[list[float]]]:
    """Greedy layer-wise pretraining of a stack of one-hidden-layer autoencoders.

    Layer l is the encoder ``act(Linear(h_l → h_{l+1}))`` of an autoencoder
    ``h_l → h_{l+1} → h_l`` trained on H_l, the codes that the layers already trained give
    for X (H_0 = X). Its decoder is then thrown away and H_{l+1} = act(Linear(H_l)) feeds the
    next layer. Decoder outputs are sigmoids (inputs and sigmoid codes lie in [0, 1]), or
    linear for the codes of other activations.

    Args:
        X: (N, d_in) unlabelled inputs in [0, 1]; the autoencoders are built on its device.
        sizes: [d_in, h_1, ..., h_L].
        steps: training steps per layer.
        activation: the hidden activation of the stack.
        corrupt: optional corruption of each layer's input (stacked denoising autoencoders).

    Returns:
        The L trained ``nn.Linear`` encoder layers and each layer's loss curve.
    """
    sizes = _sizes(sizes, "pretrain_stack")
    act = _activation(activation, "pretrain_stack")
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or X.shape[1] != sizes[0]:
        raise ValueError(f"pretrain_stack: X must be a (N, {sizes[0]}) tensor, got "
                         f"{tuple(X.shape) if isinstance(X, torch.Tensor) else type(X)}")
    H, layers, curves = X, [], []
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        out = [nn.Sigmoid()] if l == 0 or activation == "sigmoid" else []
        with seeded(seed + l, "pretrain_stack"):                   # global RNG untouched
            ae = nn.Sequential(nn.Linear(a, b), act(), nn.Linear(b, a), *out)
        ae.to(H.device)
        curves.append(fit_autoencoder(ae, H, steps=steps, batch_size=batch_size, lr=lr,
                                      seed=seed + l, corrupt=corrupt, progress=progress,
                                      desc=f"layer {l + 1}"))
        layers.append(ae[0])
        with torch.no_grad():
            H = ae[1](ae[0](H))                                    # (N, b) codes for layer l+1
    return layers, curves


def stack_into_mlp(layers: Sequence[nn.Linear], n_classes: int, activation: str = "sigmoid",
                   seed: int = 0) -> MLP:
    """An :class:`~course_lib.torch_ref.mlp.MLP` whose hidden layers start from ``layers``.

    The network is ``[d_in, h_1, ..., h_L, n_classes]`` with the pretrained weights copied
    into its first L linear layers and a fresh output layer (seeded). The same ``MLP`` with
    its default initialisation is the from-scratch baseline.
    """
    if not layers or not all(isinstance(m, nn.Linear) for m in layers):
        raise TypeError("stack_into_mlp: layers must be a non-empty list of nn.Linear")
    sizes = [layers[0].in_features] + [m.out_features for m in layers] + [n_classes]
    model = MLP(sizes, activation, seed=seed)
    linears = [m for m in model.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for target, source in zip(linears, layers, strict=False):
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
    return model


def fit_classifier(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, steps: int,
                   lr: float = 1e-3, progress: bool = False) -> list[float]:
    """Full-batch Adam on the cross-entropy for ``steps`` steps (for a small labelled set).

    Every step uses all of X and y (moved to the model's device), in
    :func:`course_lib.training.fit_steps`; no progress bar by default, as it is usually
    called for several models in a row. Returns the loss of every step.
    """
    steps = check_int(steps, "fit_classifier", "steps", low=1)
    return fit_steps(model, lambda step: (X, y), F.cross_entropy, steps=steps, lr=lr,
                     clip=None, progress=progress, desc="classifier")
