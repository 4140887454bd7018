"""Triton kernels for the N:M ops (CUDA; on CPU under ``TRITON_INTERPRET=1`` for tests).

Each program handles ``BLOCK`` blocks of ``m`` consecutive entries of a ``(num_blocks, m)`` contiguous
view, loaded and stored as one ``(BLOCK, m)`` tile (one contiguous span, so the accesses coalesce; for ``m`` a
power of two as one flat range of ``BLOCK * m`` entries, reshaped, so vectors may span blocks): one read and
one write per entry. Random numbers come from the counter-based hash of
:mod:`kernels._random` (same key, same block -> same uniform as the PyTorch paths), so a seed gives
the same masks on every backend, up to float rounding at sampling boundaries.

The N:M kernels also report, in an int32 ``flags`` word they return with their result (zeroed here, OR-ed
into by a masked ``tl.atomic_or`` only from a tile with a bad entry), bit 0 (``kernels._blocks.NONFINITE_INPUT``)
if an input entry is NaN or Inf and bit 1 (``NONFINITE_OUTPUT``) if a stored output entry is not finite (checked
after the cast to the output dtype): no second pass over ``x`` or the output, and no host sync here.

Block size: on CUDA the N:M kernels are autotuned (``triton.autotune``) over ``BLOCK`` (blocks of ``m`` per
program) in ``TUNE_BLOCKS`` x ``num_warps`` in ``TUNE_WARPS`` (12 configs), keyed on the size bucket ``SIZE`` =
``num_blocks.bit_length()`` and (Triton's autotuner adds them) the tensor arguments' dtypes; reruns while
benchmarking are harmless (the output is overwritten, the flags OR-ed again). Under ``TRITON_INTERPRET=1`` one
fixed config, ``BLOCK`` = 256 and 4 warps (benchmarking in the interpreter would be slow and meaningless).

Kernels:
* ``_nm_prune_kernel``: any ``n < m <= 8``; the rank of each entry among its block by ``m^2``
  comparisons in ``x``'s dtype (exact; ties to the lower index), optionally writing the mask;
* ``_mvue12_kernel``, ``_mvue24_kernel``: exact MVUE by closed-form water-filling + systematic sampling;
* ``_approx24_kernel``: the sequential 2:4 sampler;
* ``_factorized_kernel``: the sparse quantized product of :mod:`kernels.factorized`, tiled over
  (``BLOCK_N`` outputs, ``BLOCK_B`` batch rows);
* ``_lif_forward_kernel``, ``_lif_backward_kernel``: the LIF time loop of :mod:`kernels.lif` and its
  reverse-time adjoint, one program per ``LIF_BLOCK`` (sequence, neuron) columns, the loop over time inside;
* ``_image_gradients_kernel``: the finite-difference derivatives of :mod:`kernels.image_gradients` (normalised
  Sobel or central difference, replicate padding), one program per ``(IMAGE_BLOCK_H, IMAGE_BLOCK_W)`` tile of a
  plane: eight (Sobel) or four (central) clamped loads per pixel, mostly from cache, and two stores.

The jit functions are built on first use, so ``TRITON_INTERPRET`` may be set any time before that.
"""

from __future__ import annotations

import functools
import math

import torch

from kernels._blocks import APPROX_EPS, safe_range

__all__ = ["available", "nm_prune_blocks", "mvue_blocks", "factorized_rows", "lif_forward", "lif_backward",
           "image_gradients_planes"]

BLOCK, WARPS = 256, 4  # the N:M kernels' one config under TRITON_INTERPRET=1
TUNE_BLOCKS, TUNE_WARPS = (128, 256, 512, 1024), (2, 4, 8)  # their autotune space on the GPU
FACTORIZED_BLOCK_N, FACTORIZED_BLOCK_B = 32, 64  # outputs x batch rows per program of _factorized_kernel
LIF_BLOCK = 128  # (sequence, neuron) columns per program of the LIF kernels
IMAGE_BLOCK_H, IMAGE_BLOCK_W = 16, 64  # pixels per program of _image_gradients_kernel (rows x columns of a plane)


def available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _kernels():
    from kernels import _triton_kernels as k

    return dict(nm=_tuned(k._nm_prune_kernel), mvue12=_tuned(k._mvue12_kernel), mvue24=_tuned(k._mvue24_kernel),
                approx24=_tuned(k._approx24_kernel), factorized=k._factorized_kernel,
                lif_forward=k._lif_forward_kernel, lif_backward=k._lif_backward_kernel,
                image_gradients=k._image_gradients_kernel)


def _tuned(fn):
    """``fn`` autotuned over ``TUNE_BLOCKS`` x ``TUNE_WARPS`` keyed on ``SIZE`` (and the dtypes); one fixed
    config when ``fn`` was built for the interpreter."""
    import triton
    from triton.runtime.interpreter import InterpretedFunction

    if isinstance(fn, InterpretedFunction):
        configs = [triton.Config({"BLOCK": BLOCK}, num_warps=WARPS)]
    else:
        configs = [triton.Config({"BLOCK": b}, num_warps=w) for b in TUNE_BLOCKS for w in TUNE_WARPS]
    return triton.autotune(configs, key=["SIZE"])(fn)


def _pow2(m: int) -> int:
    """The least power of two >= ``m`` (tile width; ``tl.arange`` needs a power of two)."""
    return 1 << (m - 1).bit_length()


def _grid(num_blocks: int):
    """The launch grid for the chosen config's ``BLOCK``."""
    return lambda meta: (-(-num_blocks // meta["BLOCK"]),)


def _flags(blocks: torch.Tensor) -> torch.Tensor:
    """The zeroed int32 ``(1,)`` flags word a kernel ORs its ``NONFINITE_*`` bits into."""
    return torch.zeros(1, dtype=torch.int32, device=blocks.device)


def nm_prune_blocks(blocks: torch.Tensor, n: int, m: int, *, with_mask: bool = False):
    """``blocks``: contiguous ``(B, m)``, ``m <= 8`` -> ``(pruned (B, m), flags)``, or ``(pruned, mask (B, m)
    bool, flags)`` with the mask; ``flags``: int32 ``(1,)`` on the device (bit 0: a NaN/Inf in ``blocks``)."""
    blocks = blocks.contiguous()
    out, flags = torch.empty_like(blocks), _flags(blocks)
    mask = torch.empty(blocks.shape, dtype=torch.int8, device=blocks.device) if with_mask else out
    b = blocks.shape[0]
    if b:
        _kernels()["nm"][_grid(b)](blocks, out, mask, flags, b, b.bit_length(), N=n, M=m, MP=_pow2(m),
                                   FMAX=torch.finfo(blocks.dtype).max, WRITE_MASK=with_mask)
    return (out, mask.bool(), flags) if with_mask else (out, flags)


def mvue_blocks(blocks: torch.Tensor, n: int, m: int, method: str, key: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact MVUE 1:2 / 2:4 or approx 2:4 of contiguous ``(B, m)`` blocks with uniforms from ``key`` ->
    ``(out (B, m), flags)``; ``flags``: int32 ``(1,)`` on the device, bit 0 a NaN/Inf in ``blocks``, bit 1 a
    non-finite stored output (an unbiased kept value overflowed the dtype)."""
    blocks = blocks.contiguous()
    out, flags = torch.empty_like(blocks), _flags(blocks)
    b = blocks.shape[0]
    if not b:
        return out, flags
    f64 = blocks.dtype == torch.float64
    lo, hi = safe_range(torch.float64 if f64 else torch.float32)  # blocks outside are rescaled
    k, grid = _kernels(), _grid(b)
    args = (blocks, out, flags, key, b, b.bit_length())
    common = dict(F64=f64, LO=lo, HI=hi, FMAX=torch.finfo(blocks.dtype).max)
    if method == "approx":
        k["approx24"][grid](*args, EPS=APPROX_EPS, **common)
    elif (n, m) == (1, 2):
        k["mvue12"][grid](*args, **common)
    else:
        k["mvue24"][grid](*args, **common)
    return out, flags


def factorized_rows(yt: torch.Tensor, index: torch.Tensor, code: torch.Tensor, z_scale: torch.Tensor,
                    bias: torch.Tensor | None) -> torch.Tensor:
    """``out[b, i] = bias[i] + sum_j z_scale[i] * (code[i, j] + 0.5) * yt[index[i, j], b]``.

    ``yt``: contiguous float32 ``(k, B)``; ``index`` int64 / ``code`` int8 contiguous ``(n, s)`` (indices
    checked in range by the caller); ``z_scale`` contiguous float32 ``(n,)``, one per row (output);
    ``bias`` float32 ``(n,)`` or ``None``.
    Returns float32 ``(B, n)``.
    """
    _, b = yt.shape
    n, s = index.shape
    out = torch.empty(b, n, dtype=torch.float32, device=yt.device)
    if b == 0 or n == 0:
        return out
    grid = (-(-b // FACTORIZED_BLOCK_B), -(-n // FACTORIZED_BLOCK_N))
    if grid[1] > 65535:  # CUDA's limit on grid axis 1
        raise ValueError(f"z_index: at most {65535 * FACTORIZED_BLOCK_N} rows on the Triton path, got n={n}")
    _kernels()["factorized"][grid](yt, index, code, z_scale, out if bias is None else bias, out, b, n, s,
                                   HAS_BIAS=bias is not None, BLOCK_N=FACTORIZED_BLOCK_N,
                                   BLOCK_B=FACTORIZED_BLOCK_B)
    return out


def _lif_grid(columns: int):
    return (-(-columns // LIF_BLOCK),)


def lif_forward(current: torch.Tensor, beta: torch.Tensor, threshold: torch.Tensor):
    """``current``: contiguous ``(B, T, H)``; ``beta``, ``threshold``: contiguous ``(H,)``, same dtype.
    Returns ``(spikes, membrane)``, contiguous ``(B, T, H)``."""
    b, t, h = current.shape
    spikes, membrane = torch.empty_like(current), torch.empty_like(current)
    if b * t * h:
        _kernels()["lif_forward"][_lif_grid(b * h)](current, beta, threshold, spikes, membrane, t, t * h, h, b * h,
                                                    BLOCK=LIF_BLOCK)
    return spikes, membrane


def lif_backward(current: torch.Tensor, beta: torch.Tensor, threshold: torch.Tensor, membrane: torch.Tensor,
                 grad_spikes: torch.Tensor | None, grad_membrane: torch.Tensor | None, surrogate: int, slope: float):
    """The adjoint loop: ``(grad_current (B, T, H), beta partials (B, H), threshold partials (B, H))``; sum the
    partials over the batch. Tensors contiguous, as :func:`lif_forward`'s; ``surrogate``: the index in
    ``kernels.lif.SURROGATES``; at least one upstream gradient given."""
    b, t, h = current.shape
    grad_current = torch.empty_like(current)
    partials = torch.zeros(2, b, h, dtype=current.dtype, device=current.device)
    if b * t * h:
        # slope and pi/2 slope as tensors of the data's dtype (a Python float argument would be float32)
        par = torch.tensor([slope, math.pi / 2 * slope], dtype=current.dtype, device=current.device)
        gs = grad_membrane if grad_spikes is None else grad_spikes  # a placeholder pointer when absent
        gv = grad_spikes if grad_membrane is None else grad_membrane
        _kernels()["lif_backward"][_lif_grid(b * h)](
            current, membrane, gs, gv, beta, threshold, par, grad_current, partials[0], partials[1],
            t, t * h, h, b * h, SURROGATE=surrogate, HAS_GS=grad_spikes is not None,
            HAS_GV=grad_membrane is not None, BLOCK=LIF_BLOCK)
    return grad_current, partials[0], partials[1]


def image_gradients_planes(planes: torch.Tensor, kind: int) -> torch.Tensor:
    """``planes``: ``(P, H, W)`` float32/float16/bfloat16 (made contiguous here), ``H, W >= 1``, fewer than
    ``2**31`` pixels a plane; ``kind``: the index in ``kernels.image_gradients.GRADIENT_KINDS`` (0 Sobel, 1
    central). Returns ``(P, 2, H, W)`` contiguous, in ``planes``' dtype: index 0 ``∂/∂x`` (along ``W``), 1
    ``∂/∂y``; computed in float32."""
    planes = planes.contiguous()
    p, h, w = planes.shape
    out = torch.empty(p, 2, h, w, dtype=planes.dtype, device=planes.device)
    if p * h * w:
        tiles_w = -(-w // IMAGE_BLOCK_W)
        tiles = -(-h // IMAGE_BLOCK_H) * tiles_w
        _kernels()["image_gradients"][(p * tiles,)](planes, out, h, w, tiles_w, tiles, KIND=kind,
                                                    BLOCK_H=IMAGE_BLOCK_H, BLOCK_W=IMAGE_BLOCK_W)
    return out
