"""Leaky integrate-and-fire (LIF): the time loop of a spiking layer, with a surrogate-gradient backward.

``H`` neurons are driven by an input current over ``T`` time steps, for each of ``B`` sequences. In normalised
units, with a soft reset by the threshold (as in the released code of Rasteh et al. 2022) and
:math:`v_{-1} = s_{-1} = 0`:

.. math::  v_t = \\beta\\, (v_{t-1} - \\vartheta\\, s_{t-1}) + (1 - \\beta)\\, I_t, \\qquad
           s_t = \\Theta(v_t - \\vartheta), \\quad \\Theta(x) = [x > 0] \\ \\text{(strict)},

with the leak :math:`\\beta` (``beta``, expected in ``[0, 1]``; not clamped here) and the threshold
:math:`\\vartheta` (``threshold``), each one value or one per neuron. With no spike the membrane is the leaky
integral :math:`v_t = (1 - \\beta) \\sum_{k \\le t} \\beta^{t-k} I_k`.

Backward: :math:`\\Theta'` is replaced by a surrogate :math:`g(x)` at :math:`x = v_t - \\vartheta`
(``SURROGATES``, ``slope`` = :math:`a`):

* ``sigmoid``: :math:`g(x) = a\\, \\sigma(a x)\\, \\sigma(-a x)` (the paper's, :math:`a = 10`);
* ``fast_sigmoid``: :math:`g(x) = 1 / (1 + a |x|)^2` (snntorch FastSigmoid, SuperSpike);
* ``arctan``: :math:`g(x) = (a/2) / (1 + (\\tfrac{\\pi}{2} a x)^2)` (snntorch ATan, ``alpha = a``).

The reset term is not detached: gradients flow through :math:`s_{t-1}` in the reset. With upstream gradients
:math:`\\bar s_t`, :math:`\\bar v_t` on the outputs (either may be absent), the adjoint of :math:`v_t`,
:math:`A_T = 0`,

.. math::  A_t = \\bar v_t + g_t \\bar s_t + \\beta (1 - \\vartheta g_t) A_{t+1}

is one multiply-add per step, the :math:`g_t` being computed vectorised from the saved membrane; then

.. math::  \\partial I_t = (1 - \\beta) A_t, \\qquad
           \\partial \\beta = \\textstyle\\sum_t A_t\\, (u_{t-1} - I_t), \\qquad
           \\partial \\vartheta = \\textstyle\\sum_t \\big(\\beta A_{t+1} (\\vartheta g_t - s_t)
           - g_t \\bar s_t\\big),

with :math:`u_t = v_t - \\vartheta s_t` (:math:`u_{-1} = 0`), summed over the batch (and over the neurons for a
scalar ``beta`` / ``threshold``).

Paths (chosen by :func:`kernels._backend.choose_backend`), one ``torch.autograd.Function``:

* PyTorch (any device): the forward loop runs four ops per step on ``(B, H)`` slices of the outputs, without
  an autograd graph (the float operations of the reference, in its order: the same bits); on CPU (float32/64)
  the same loop runs as one Numba kernel instead (:mod:`kernels._lif_cpu`: one pass, the same bits); the backward goes
  through time in chunks of about ``CHUNK_NUMEL`` entries (so that a chunk's buffers stay in the CPU's
  cache), computing the chunk's surrogate values and coefficients in a few vectorised ops, then the adjoint
  recurrence above (one ``addcmul`` per step), then the chunk's terms of the sums;
* Triton (CUDA; on CPU under ``TRITON_INTERPRET=1``): a forward kernel fusing the whole time loop (one program
  per block of the ``B * H`` (sequence, neuron) columns, the membrane in registers, the loop over ``T``
  inside) and a backward kernel running the reverse-time adjoint loop likewise, writing the gradient of the
  current and per-column partial sums for ``beta`` / ``threshold``, reduced afterwards.

:func:`kernels.reference.lif_reference` is the naive loop differentiated by autograd (the test oracle).

Shapes:
    current: ``(B, T, H)`` float32 or float64; beta, threshold: ``()``, ``(1,)`` or ``(H,)``, same dtype and
    device; spikes, membrane: ``(B, T, H)``, current's dtype (spikes are 0/1).
"""

from __future__ import annotations

import math

import torch
from torch.autograd.function import once_differentiable

from kernels import _lif_cpu, _triton
from kernels._backend import choose_backend
from kernels.quantized import all_finite

__all__ = ["lif", "SURROGATES", "surrogate_derivative"]

SURROGATES = ("sigmoid", "fast_sigmoid", "arctan")
DTYPES = (torch.float32, torch.float64)
CHUNK_NUMEL = 1 << 18  # entries per time chunk of the PyTorch backward (1 MiB of float32)


def _check_current(current) -> None:
    if not isinstance(current, torch.Tensor):
        raise TypeError(f"current: expected a torch.Tensor (B, T, H), got {type(current).__name__}")
    if current.dtype not in DTYPES:
        raise TypeError(f"current: expected dtype torch.float32 or torch.float64, got {current.dtype}")
    if current.dim() != 3:
        raise ValueError(f"current: expected a 3-d tensor (B, T, H), got shape {tuple(current.shape)}")


def _check_parameter(name: str, p, current: torch.Tensor) -> None:
    """``p`` (``beta`` or ``threshold``): a tensor of ``current``'s dtype and device, shape ``()``, ``(1,)`` or
    ``(H,)``, finite."""
    h = current.shape[-1]
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of shape (), (1,) or (H,) = ({h},), got {type(p).__name__}")
    if p.dtype != current.dtype:
        raise TypeError(f"{name}: expected dtype {current.dtype} (that of current), got {p.dtype}")
    if p.device != current.device:
        raise ValueError(f"{name}: expected device {current.device} (that of current), got {p.device}")
    if p.dim() > 1 or p.numel() not in (1, h):
        raise ValueError(f"{name}: expected shape (), (1,) or (H,) = ({h},) (H = current.shape[-1]), "
                         f"got {tuple(p.shape)}")
    if not all_finite(p.detach()):
        raise ValueError(f"{name}: contains NaN" if bool(torch.isnan(p).any()) else f"{name}: contains Inf")


def _check_surrogate(surrogate, slope) -> None:
    if not isinstance(surrogate, str):
        raise TypeError(f"surrogate: expected a str among {SURROGATES}, got {type(surrogate).__name__}")
    if surrogate not in SURROGATES:
        raise ValueError(f"surrogate: expected one of {SURROGATES}, got {surrogate!r}")
    if isinstance(slope, bool) or not isinstance(slope, (int, float)):
        raise TypeError(f"slope: expected a positive finite number, got {type(slope).__name__} {slope!r}")
    if not (math.isfinite(slope) and slope > 0):
        raise ValueError(f"slope: expected a positive finite number, got {slope!r}")


def _surrogate_(x: torch.Tensor, surrogate: str, slope: float) -> torch.Tensor:
    """``x`` overwritten with ``g(x)`` (in-place ops: no new buffer)."""
    if surrogate == "sigmoid":
        x.abs_().mul_(-slope).sigmoid_()  # p = sigma(-a|x|) <= 1/2, so p - p^2 = p (1 - p) does not cancel
        return x.addcmul_(x, x, value=-1).mul_(slope)
    if surrogate == "fast_sigmoid":
        return x.abs_().mul_(slope).add_(1).pow_(-2)
    return x.mul_(math.pi / 2 * slope).square_().add_(1).reciprocal_().mul_(slope / 2)


def surrogate_derivative(x: torch.Tensor, surrogate: str, slope: float) -> torch.Tensor:
    """``g(x)`` of ``surrogate`` (module docstring), a new tensor of ``x``'s dtype. The sigmoid's is computed as
    :math:`a p (1 - p)` with :math:`p = \\sigma(-a |x|)` (equal to :math:`a \\sigma(a x) \\sigma(-a x)`)."""
    _check_surrogate(surrogate, slope)
    return _surrogate_(x.clone(), surrogate, float(slope))


def _per_neuron(p: torch.Tensor, h: int) -> torch.Tensor:
    """``p`` (``()``, ``(1,)`` or ``(h,)``) as a contiguous ``(h,)`` tensor."""
    return p.reshape(-1).expand(h).contiguous()


def _forward_torch(current: torch.Tensor, beta: torch.Tensor, threshold: torch.Tensor):
    """The loop on ``(B, H)`` slices of the outputs, four ops a step, no other large buffer. The same float
    operations in the same order as the reference, so the result is bit-for-bit the reference's."""
    b, t_steps, h = current.shape
    membrane = torch.mul(current, 1 - beta)  # (1 - beta) I_t for all steps, then v_t in place
    spikes = torch.empty_like(current)
    u = current.new_zeros(b, h)  # u_{t-1} = v_{t-1} - threshold s_{t-1}
    tmp = torch.empty_like(u)
    for t in range(t_steps):
        v = membrane[:, t]
        torch.mul(u, beta, out=tmp)
        torch.add(tmp, v, out=v)
        s = torch.gt(v, threshold, out=spikes[:, t])
        torch.addcmul(v, s, threshold, value=-1, out=u)  # exact: s is 0 or 1
    return spikes, membrane


def _chunk_steps(b: int, h: int) -> int:
    """Time steps per chunk of the backward: about ``CHUNK_NUMEL`` entries, so a chunk's buffers stay in cache."""
    return max(1, CHUNK_NUMEL // max(1, b * h))


def _backward_torch(current, beta, threshold, spikes, membrane, grad_s, grad_v, surrogate, slope, needs):
    """Gradients ``(current (B, T, H), beta (H,), threshold (H,))``, ``None`` where not needed.

    Chunks of time steps from the last: each chunk's ``g_t``, ``c_t = grad_v_t + g_t grad_s_t`` and
    ``d_t = beta (1 - threshold g_t)`` vectorised, then ``A_t = c_t + d_t A_{t+1}`` step by step (one
    ``addcmul``), then the chunk's terms of the sums for ``beta`` and ``threshold``. A chunk's buffers fit in
    the CPU's cache, where whole-tensor passes would stream every buffer through memory many times."""
    b, t_steps, h = current.shape
    adjoint = torch.empty_like(current)  # A_t, then (1 - beta) A_t in place: the gradient of the current
    a_next = current.new_zeros(b, h)  # A_{t1} of the chunk after this one; A_T = 0
    sum_beta = current.new_zeros(h)  # sum_t A_t (u_{t-1} - I_t)
    sum_reset = current.new_zeros(h)  # sum_t A_{t+1} (threshold g_t - s_t)
    sum_g_grad_s = current.new_zeros(h)  # sum_t g_t grad_s_t
    step = max(1, min(_chunk_steps(b, h), t_steps))
    g_buf, d_buf, u_buf = (current.new_empty(b, step, h) for _ in range(3))  # one chunk, reused
    minus_beta_threshold = -(beta * threshold)  # d_t = beta - beta threshold g_t: one addcmul
    for t1 in range(t_steps, 0, -step):
        t0 = max(0, t1 - step)
        a, g, d = adjoint[:, t0:t1], g_buf[:, :t1 - t0], d_buf[:, :t1 - t0]
        _surrogate_(torch.sub(membrane[:, t0:t1], threshold, out=g), surrogate, slope)
        if grad_s is not None:
            torch.mul(g, grad_s[:, t0:t1], out=a)
            if needs[2]:
                sum_g_grad_s += a.sum((0, 1))
            if grad_v is not None:
                a += grad_v[:, t0:t1]
        else:
            a.copy_(grad_v[:, t0:t1])
        torch.addcmul(beta, g, minus_beta_threshold, out=d)  # d_t = beta (1 - threshold g_t)
        if needs[2]:
            torch.addcmul(spikes[:, t0:t1], g, threshold, value=-1, out=g)  # s_t - threshold g_t
        following = a_next
        for t in range(t1 - t0 - 1, -1, -1):
            following = torch.addcmul(a[:, t], d[:, t], following, out=a[:, t])  # A_t = c_t + d_t A_{t+1}
        if needs[2]:
            g[:, -1] *= a_next
            g[:, :-1] *= a[:, 1:]
            sum_reset -= g.sum((0, 1))
        if needs[1]:
            u = u_buf[:, :t1 - t0]  # u_{t-1} = v_{t-1} - threshold s_{t-1}, u_{-1} = 0
            lo = max(t0, 1)
            if t0 == 0:
                u[:, 0] = 0
            torch.addcmul(membrane[:, lo - 1:t1 - 1], spikes[:, lo - 1:t1 - 1], threshold, value=-1,
                          out=u[:, lo - t0:])
            sum_beta += u.sub_(current[:, t0:t1]).mul_(a).sum((0, 1))
        a_next.copy_(a[:, 0])
        if needs[0]:
            a.mul_(1 - beta)
    grad_threshold = sum_reset.mul_(beta).sub_(sum_g_grad_s) if needs[2] else None
    return (adjoint if needs[0] else None), (sum_beta if needs[1] else None), grad_threshold


class _LIF(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current, beta, threshold, surrogate, slope, backend):
        h = current.shape[-1]
        current = current.contiguous()
        beta_h, threshold_h = _per_neuron(beta, h), _per_neuron(threshold, h)
        if backend == "triton":
            spikes, membrane = _triton.lif_forward(current, beta_h, threshold_h)
        elif _lif_cpu.available(current):
            spikes, membrane = _lif_cpu.lif_forward(current, beta_h, threshold_h)
        else:
            spikes, membrane = _forward_torch(current, beta_h, threshold_h)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(current, beta_h, threshold_h, spikes, membrane)
        ctx.shapes = (beta.shape, threshold.shape)
        ctx.surrogate, ctx.slope, ctx.backend = surrogate, slope, backend
        return spikes, membrane

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_spikes, grad_membrane):
        current, beta, threshold, spikes, membrane = ctx.saved_tensors
        needs = ctx.needs_input_grad[:3]
        if grad_spikes is None and grad_membrane is None:
            return None, None, None, None, None, None
        if grad_spikes is not None:
            grad_spikes = grad_spikes.contiguous()
        if grad_membrane is not None:
            grad_membrane = grad_membrane.contiguous()
        if ctx.backend == "triton":
            gc, gb, gt = _triton.lif_backward(current, beta, threshold, membrane, grad_spikes, grad_membrane,
                                              SURROGATES.index(ctx.surrogate), ctx.slope)
            gb, gt = gb.sum(0), gt.sum(0)  # per-column partials (B, H) -> (H,)
        else:
            gc, gb, gt = _backward_torch(current, beta, threshold, spikes, membrane, grad_spikes, grad_membrane,
                                         ctx.surrogate, ctx.slope, needs)
        beta_shape, threshold_shape = ctx.shapes
        return (gc if needs[0] else None,
                gb.sum_to_size(beta_shape) if needs[1] else None,
                gt.sum_to_size(threshold_shape) if needs[2] else None,
                None, None, None)


def lif(current: torch.Tensor, beta: torch.Tensor, threshold: torch.Tensor, *, surrogate: str = "sigmoid",
        slope: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Run LIF neurons over time: ``spikes, membrane = lif(current, beta, threshold)``.

    :math:`v_t = \\beta (v_{t-1} - \\vartheta s_{t-1}) + (1 - \\beta) I_t`, :math:`s_t = [v_t > \\vartheta]`,
    :math:`v_{-1} = s_{-1} = 0` (module docstring).

    Args:
        current: ``(B, T, H)`` float32 or float64, finite: the input current of ``H`` neurons over ``T`` steps
            (already weighted and normalised by the caller). ``T = 0`` (or ``B``, ``H = 0``) gives empty outputs.
        beta: the leak, shape ``()``, ``(1,)`` or ``(H,)``, ``current``'s dtype and device, finite; expected in
            ``[0, 1]`` (not clamped). May require grad.
        threshold: shape ``()``, ``(1,)`` or ``(H,)``, as ``beta``. May require grad.
        surrogate: the derivative that replaces the Heaviside's in the backward, one of ``SURROGATES``.
        slope: its ``a`` (module docstring), a positive finite number.

    Returns:
        ``(spikes, membrane)``, both ``(B, T, H)`` in ``current``'s dtype; spikes are 0/1. Both are
        differentiable (in ``current``, ``beta``, ``threshold``; the gradients of ``beta`` and ``threshold`` are
        summed to their shapes). No double backward.

    Raises:
        TypeError / ValueError whose message starts with the offending argument's name, with the expected and
        received value: a non-tensor or non-float32/64 ``current``, not 3-d; ``beta`` / ``threshold`` of
        another dtype or device or a shape that is not ``()``, ``(1,)``, ``(H,)``; an unknown ``surrogate``;
        a ``slope`` that is not a positive finite number; NaN/Inf in ``current``, ``beta`` or ``threshold``.
    """
    _check_current(current)
    _check_parameter("beta", beta, current)
    _check_parameter("threshold", threshold, current)
    _check_surrogate(surrogate, slope)
    if not all_finite(current.detach()):
        raise ValueError("current: contains NaN" if bool(torch.isnan(current).any()) else "current: contains Inf")
    backend = choose_backend(current, supported=True, what="lif")
    return _LIF.apply(current, beta, threshold, surrogate, float(slope), backend)
