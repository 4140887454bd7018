"""Implicit neural representations of an image: ``f_θ : (x, y) ↦ I(x, y) ∈ ℝ^C``, with ``(x, y)`` in pixel units
(column, row; ``0 … W−1``, ``0 … H−1``) and the normalisation to ``[−1, 1]²`` inside the model, so that the
network's derivatives ``∂f/∂x, ∂f/∂y`` are in intensity per pixel, the units of :func:`kernels.image_gradients`.

Three networks (the paper's ``sine``, ``relu`` and ``relu_pos``), each ``2 → hidden → … → hidden → C`` with
``layers`` hidden-to-hidden layers after the first (the released ``num_hidden_layers=3``: five linear maps):

* ``siren``: ``h ← sin(ω₀ (W h + b))``, ω₀ = 30, first layer ``W ~ U(−1/2, 1/2)``, others
  ``U(−√(6/n)/ω₀, √(6/n)/ω₀)`` (Sitzmann et al., 2020);
* ``relu``: ``h ← max(0, W h + b)``, Kaiming-normal weights;
* ``relu_pe``: ``relu`` after the NeRF encoding ``γ(u) = (u, sin(2^k π u), cos(2^k π u))_{k<L}`` of the normalised
  coordinates, ``L = ⌊log₂(s/4)⌋`` for the shorter side ``s`` of the training grid (the released Nyquist rule).

:meth:`INR.value_and_gradient` returns ``f`` and its Jacobian ``(N, C, 2)`` in one pass by forward-mode tangents
``ṫ ← (W ṫ) ⊙ σ'(W h + b)`` (exact, the same numbers as reverse-mode autograd; one backward pass then trains on
it, where ``C`` reverse passes with ``create_graph`` cost ~1.3× more on CPU and ``torch.func.jacfwd`` ~1.6×).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from workbench.checks import check_int, check_real

__all__ = ["NETWORKS", "NETWORK_NAMES", "INR", "pixel_grid", "nyquist_frequencies"]

NETWORKS = ("siren", "relu", "relu_pe")
NETWORK_NAMES = {"siren": "SIREN (ω₀ = 30)", "relu": "ReLU MLP", "relu_pe": "ReLU + positional encoding"}


def nyquist_frequencies(samples: int) -> int:
    """``L = ⌊log₂(samples / 4)⌋`` frequencies for a grid of ``samples`` per side (the released rule; at least 1)."""
    check_int("samples", samples, 1)
    return max(1, int(math.floor(math.log2(samples / 4)))) if samples >= 8 else 1


def pixel_grid(shape: tuple[int, int], mask: np.ndarray | None = None) -> torch.Tensor:
    """Pixel coordinates ``(x, y)`` (column, row) as float32 ``(N, 2)``, row-major over ``shape = (H, W)``, or only
    where the bool ``mask (H, W)`` is True."""
    h, w = shape
    ys, xs = np.nonzero(mask) if mask is not None else np.divmod(np.arange(h * w), w)
    return torch.from_numpy(np.stack([xs, ys], axis=1).astype(np.float32))


class INR(nn.Module):
    """``network`` (one of :data:`NETWORKS`) for images of ``shape = (H, W)`` with ``channels`` outputs.

    Args:
        network: ``"siren"``, ``"relu"`` or ``"relu_pe"``.
        shape: the image's ``(H, W)`` (for normalising the pixel coordinates).
        channels: outputs per pixel (3 for colour, 1 for grey).
        hidden: width of every hidden layer (256).
        layers: hidden-to-hidden layers after the first (3).
        omega0: SIREN's frequency ω₀ (30).
        frequencies: ``relu_pe``'s ``L`` (default: :func:`nyquist_frequencies` of ``min(shape) // stride``).
        stride: the training grid's stride, for the default ``frequencies``.
        seed: initialisation seed.
    """

    def __init__(self, network: str = "siren", shape: tuple[int, int] = (256, 256), channels: int = 3,
                 hidden: int = 256, layers: int = 3, omega0: float = 30.0, frequencies: int | None = None,
                 stride: int = 4, seed: int = 0):
        super().__init__()
        if network not in NETWORKS:
            raise ValueError(f"network: expected one of {NETWORKS}, got {network!r}")
        if not isinstance(shape, (tuple, list)) or len(shape) != 2:
            raise TypeError(f"shape: expected a pair (H, W), got {shape!r}")
        h, w = (check_int("shape", s, 2) for s in shape)
        check_int("channels", channels, 1)
        check_int("hidden", hidden, 1)
        check_int("layers", layers, 0)
        self.omega0 = check_real("omega0", omega0)
        check_int("stride", stride, 1)
        self.network, self.shape, self.channels = network, (h, w), channels
        self.frequencies = 0
        if network == "relu_pe":
            self.frequencies = (nyquist_frequencies(max(1, min(h, w) // stride)) if frequencies is None
                                else check_int("frequencies", frequencies, 1))
        # d(normalised)/d(pixel) per axis: u = 2 x / (W - 1) - 1
        self.register_buffer("scale", torch.tensor([2.0 / (w - 1), 2.0 / (h - 1)]))
        if self.frequencies:
            self.register_buffer("bands", math.pi * 2.0 ** torch.arange(self.frequencies, dtype=torch.float32))
        n_in = 2 + 4 * self.frequencies
        widths = [n_in] + [hidden] * (layers + 1)
        self.hidden_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.output = nn.Linear(hidden, channels)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for i, lin in enumerate([*self.hidden_layers, self.output]):
                n = lin.in_features
                if network == "siren":
                    bound = 1.0 / n if i == 0 else math.sqrt(6.0 / n) / self.omega0
                    lin.weight.uniform_(-bound, bound, generator=gen)
                else:
                    lin.weight.normal_(0.0, math.sqrt(2.0 / n), generator=gen)
                lin.bias.uniform_(-1.0 / math.sqrt(n), 1.0 / math.sqrt(n), generator=gen)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _check_xy(self, xy) -> None:
        if not isinstance(xy, torch.Tensor) or xy.dim() != 2 or xy.shape[1] != 2:
            raise ValueError(f"xy: expected a tensor (N, 2) of pixel coordinates, got "
                             f"{tuple(xy.shape) if isinstance(xy, torch.Tensor) else type(xy).__name__}")

    def _encode(self, u: torch.Tensor, tangent: torch.Tensor | None):
        """γ(u) ``(N, 2 + 4L)`` and its tangents ``(N, 2, 2 + 4L)`` (``∂γ/∂x``, ``∂γ/∂y``)."""
        if not self.frequencies:
            return u, tangent
        arg = u[:, :, None] * self.bands  # (N, 2, L)
        s, c = torch.sin(arg), torch.cos(arg)
        feats = torch.cat([u, s.flatten(1), c.flatten(1)], 1)
        if tangent is None:
            return feats, None
        n, L = u.shape[0], self.frequencies
        ds = torch.zeros(n, 2, 2, L, dtype=u.dtype, device=u.device)
        dc = torch.zeros_like(ds)
        for k in range(2):  # ∂/∂x_k touches only coordinate k's features
            ds[:, k, k] = c[:, k] * self.bands * self.scale[k]
            dc[:, k, k] = -s[:, k] * self.bands * self.scale[k]
        return feats, torch.cat([tangent, ds.flatten(2), dc.flatten(2)], 2)

    def _run(self, xy: torch.Tensor, with_tangent: bool):
        self._check_xy(xy)
        u = xy.to(self.scale.dtype) * self.scale - 1.0
        tangent = torch.diag_embed(self.scale).expand(u.shape[0], 2, 2) if with_tangent else None
        h, tangent = self._encode(u, tangent)
        for lin in self.hidden_layers:
            z = lin(h)
            if self.network == "siren":
                h = torch.sin(self.omega0 * z)
                if with_tangent:
                    tangent = (tangent @ lin.weight.T) * (self.omega0 * torch.cos(self.omega0 * z))[:, None, :]
            else:
                h = torch.relu(z)
                if with_tangent:
                    tangent = (tangent @ lin.weight.T) * (z > 0).to(z.dtype)[:, None, :]
        out = self.output(h)
        if not with_tangent:
            return out, None
        return out, (tangent @ self.output.weight.T).transpose(1, 2)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        """``f(xy)``: ``(N, C)`` for pixel coordinates ``xy (N, 2)``."""
        return self._run(xy, False)[0]

    def value_and_gradient(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``f(xy) (N, C)`` and ``∂f/∂(x, y) (N, C, 2)`` in intensity per pixel, by forward-mode tangents."""
        return self._run(xy, True)

    def gradient_autograd(self, xy: torch.Tensor) -> torch.Tensor:
        """``∂f/∂(x, y) (N, C, 2)`` by reverse-mode autograd, one pass per channel (the reference)."""
        xy = xy.detach().to(self.scale.dtype).requires_grad_(True)
        out = self(xy)
        return torch.stack([torch.autograd.grad(out[:, c].sum(), xy, create_graph=True)[0]
                            for c in range(out.shape[1])], 1)

    @torch.no_grad()
    def render(self, with_gradient: bool = False, chunk: int = 65536):
        """The whole image ``(H, W, C)`` (the network's output as trained, unclipped) and, if asked, its
        derivatives ``(H, W, C, 2)``, as float32 tensors."""
        h, w = self.shape
        xy = pixel_grid(self.shape)
        values, grads = [], []
        for i in range(0, len(xy), chunk):
            v, g = self._run(xy[i:i + chunk], with_gradient)
            values.append(v)
            grads.append(g)
        image = torch.cat(values).reshape(h, w, self.channels)
        return (image, torch.cat(grads).reshape(h, w, self.channels, 2)) if with_gradient else image
