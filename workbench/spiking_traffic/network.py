"""The paper's network: input → one fully connected layer of LIF neurons → a leaky, non-spiking readout.

Hidden layer (released code ``SpikingDenseLayer``, leaky mode, soft reset, no lateral connections): with the input
counts ``x_t`` ``(B, S)``, weights ``W`` ``(S, H)`` and ``n_j = ||W_{:, j}||²``, the membrane in units of
``n_j`` evolves as

    v_t = β (v_{t-1} - b s_{t-1}) + (1 - β) (x_t W)_j / n_j,      s_t = Θ(v_t - b)

(the released code's ``mem`` is ``n_j v_t`` and its spike condition ``mem / n_j - b > 0``: the same dynamics);
the leak ``β`` (one per layer, or one per neuron) is clamped to [0, 1] and the threshold ``b`` (one per neuron) to
``>= 0`` after every step. The loop runs in :func:`kernels.lif` with a surrogate gradient for ``Θ``.

Readout (``ReadoutLayer``, ``time_reduction="mean"``): ``m_t = β_o m_{t-1} + (1 - β_o) (s_t W_o)``, output
``mean_t(m_t) / ||W_o||² - b_o``. It is linear, so the mean has the closed form
``Σ_k (s_k W_o) (1 - β_o^{T-k}) / T`` (no loop). Initialisation: ``W ~ N(0, (0.15 / sqrt(S))²)``, ``β = 0.7``,
``b = 1``.

Shapes: ``x`` ``(B, T, S)`` float32 → logits ``(B, C)``; :meth:`SpikingNetwork.trace` also returns the spikes and
membranes ``(B, T, H)`` and the readout over time ``(B, T, C)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from kernels import SURROGATES, lif
from workbench.checks import check_int, check_real

__all__ = ["SpikingNetwork", "check_inputs"]

EPS = 1e-8


def check_inputs(x, n_inputs: int) -> None:
    """``x`` must be a finite float tensor ``(B, T, n_inputs)``."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x: expected a float tensor (B, T, {n_inputs}), got {type(x).__name__} "
                        f"{getattr(x, 'dtype', '')}")
    if x.ndim != 3 or x.shape[2] != n_inputs or x.shape[1] < 1:
        raise ValueError(f"x: expected shape (B, T >= 1, {n_inputs}), got {tuple(x.shape)}")


class SpikingNetwork(nn.Module):
    """One hidden layer of ``hidden`` LIF neurons and a leaky readout over ``n_classes``."""

    def __init__(self, n_inputs: int = 150, hidden: int = 100, n_classes: int = 5, *, surrogate: str = "sigmoid",
                 slope: float = 10.0, beta: float = 0.7, threshold: float = 1.0, weight_scale: float = 0.15,
                 beta_per_neuron: bool = False, seed: int = 0):
        super().__init__()
        self.n_inputs = check_int("n_inputs", n_inputs, 1)
        self.hidden = check_int("hidden", hidden, 1)
        self.n_classes = check_int("n_classes", n_classes, 2)
        if surrogate not in SURROGATES:
            raise ValueError(f"surrogate: expected one of {SURROGATES}, got {surrogate!r}")
        self.surrogate, self.slope = surrogate, check_real("slope", slope)
        check_real("beta", beta, 0.0, 1.0, low_open=False)
        check_real("threshold", threshold, 0.0, low_open=False)
        check_real("weight_scale", weight_scale)
        g = torch.Generator().manual_seed(seed)
        self.w = nn.Parameter(torch.randn(n_inputs, hidden, generator=g) * weight_scale / math.sqrt(n_inputs))
        self.beta = nn.Parameter(torch.full((hidden,) if beta_per_neuron else (1,), float(beta)))
        self.b = nn.Parameter(torch.full((hidden,), float(threshold)))
        self.w_out = nn.Parameter(torch.randn(hidden, n_classes, generator=g) * weight_scale / math.sqrt(hidden))
        self.beta_out = nn.Parameter(torch.full((1,), float(beta)))
        self.b_out = nn.Parameter(torch.full((n_classes,), float(threshold)))

    def clamp_(self) -> None:
        """Keep the leaks in [0, 1] and the thresholds >= 0 (after every optimiser step, as released)."""
        with torch.no_grad():
            self.beta.clamp_(0.0, 1.0)
            self.beta_out.clamp_(0.0, 1.0)
            self.b.clamp_(min=0.0)

    def hidden_current(self, x: torch.Tensor) -> torch.Tensor:
        """``x W / ||W_j||²``: the hidden layer's input current in threshold units, ``(B, T, H)``."""
        return (x @ self.w) / ((self.w ** 2).sum(0) + EPS)

    def hidden_layer(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden spikes and membranes, each ``(B, T, H)``."""
        check_inputs(x, self.n_inputs)
        return lif(self.hidden_current(x), self.beta, self.b, surrogate=self.surrogate, slope=self.slope)

    def readout(self, spikes: torch.Tensor) -> torch.Tensor:
        """Logits ``mean_t(m_t) / ||W_o||² - b_o`` of the leaky readout, in closed form, ``(B, C)``."""
        t = spikes.shape[1]
        k = torch.arange(t, dtype=spikes.dtype, device=spikes.device)
        weights = (1.0 - self.beta_out ** (t - k)) / t  # (T,): weight of step k in the mean of m_t
        drive = torch.einsum("bth,t->bh", spikes, weights) @ self.w_out
        return drive / ((self.w_out ** 2).sum(0) + EPS) - self.b_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spikes, _ = self.hidden_layer(x)
        return self.readout(spikes)

    @torch.no_grad()
    def trace(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything the page draws: ``spikes``, ``membrane`` ``(B, T, H)``, the readout's running mean
        ``readout`` ``(B, T, C)`` (its last step is the logits) and ``logits`` ``(B, C)``."""
        spikes, membrane = self.hidden_layer(x)
        drive = (spikes @ self.w_out) / ((self.w_out ** 2).sum(0) + EPS)  # (B, T, C)
        beta = self.beta_out.clamp(0.0, 1.0)
        m = torch.zeros_like(drive[:, 0])
        running = torch.empty_like(drive)
        total = torch.zeros_like(m)
        for step in range(drive.shape[1]):
            m = beta * m + (1.0 - beta) * drive[:, step]
            total += m
            running[:, step] = total / (step + 1) - self.b_out
        return {"spikes": spikes, "membrane": membrane, "readout": running, "logits": self.readout(spikes)}

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
