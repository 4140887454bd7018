"""A linear layer whose weight is stored as sparse, quantized factors, applied without materialising it.

The weight :math:`W \\approx Z C` (:math:`W \\in \\mathbb{R}^{n \\times d}`) is kept as

* :math:`Z \\in \\mathbb{R}^{n \\times k}` with exactly ``s`` stored entries per row: row ``i`` holds
  :math:`Z_{i, \\iota_{ij}} = \\zeta_i (q_{ij} + \\tfrac12)` at the distinct columns
  :math:`\\iota_{i1}, \\dots, \\iota_{is}` (``z_index``), with codes :math:`q` (``z_code``) and one scale per
  row of :math:`Z`, i.e. per output channel (``z_scale``, :math:`\\zeta`); every other entry is zero;
* :math:`C \\in \\mathbb{R}^{k \\times d}`, dense, :math:`C_{r,:} = \\gamma_r (c_{r,:} + \\tfrac12)`, codes
  ``c_code`` and one scale per row (``c_scale``, :math:`\\gamma`); or :math:`C = I` (``c_code=None``, ``k = d``).

``k`` is ``c_code.shape[0]``; with ``C = I`` it is ``d``: ``x.shape[-1]`` for :func:`factorized_linear`, the
keyword ``columns`` for :func:`factorized_weight` (which has no ``x``).

Codes follow the grid of :mod:`kernels.quantized` (int8, value ``scale * (code + 0.5)``). The op is

.. math:: \\mathrm{out}_{b,i} = \\mathrm{bias}_i + \\sum_{j < s} Z_{i,\\iota_{ij}}\\, y_{b,\\iota_{ij}}
          = \\mathrm{bias}_i + \\zeta_i \\sum_{j < s} (q_{ij} + \\tfrac12)\\, y_{b,\\iota_{ij}},
          \\qquad y = x C^\\top,

i.e. ``x @ (Z @ C).T + bias`` in ``O(B (k d + n s))`` work and ``O(n s + k d)`` storage, against
``O(B n d)`` and ``n d`` floats for the dense layer.

Paths (chosen by :func:`kernels._backend.choose_backend`):

* PyTorch: ``y = x @ C.T`` (``C`` dequantized, ``k x d``), then ``Z`` as a CSR tensor
  (``crow = arange(0, n s + 1, s)``): ``out = (Z @ y.T).T``;
* Triton (CUDA; on CPU under ``TRITON_INTERPRET=1``): ``y^T = C x^T`` by a torch matmul, then one kernel
  tiled over (output block, batch block) that loads each row's scale once, loops over the ``s`` stored
  entries of its rows, dequantizes them in registers and accumulates ``Z_{i,idx} * y[b, idx]`` in float32.

Neither path builds the ``n x d`` weight; :func:`factorized_weight` does, as the reference.

Shapes:
    x: ``(..., d)``; z_index, z_code: ``(n, s)``; z_scale: ``(n,)``; c_code: ``(k, d)`` or ``None``;
    c_scale: ``(k,)`` or ``None``; bias: ``(n,)`` or ``None``; out: ``(..., n)`` float32.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from kernels import _triton
from kernels._backend import choose_backend
from kernels.quantized import all_finite, grid_values

__all__ = ["factorized_linear", "factorized_weight"]


@dataclass
class _Factors:
    index: torch.Tensor  # (n, s) int64, each row sorted increasingly
    values: torch.Tensor  # (n, s) float32, Z's stored entries in the order of `index`
    code: torch.Tensor  # (n, s) int8, codes in the order of `index`
    z_scale: torch.Tensor  # (n,) float32, one per row of Z
    c: torch.Tensor | None  # (k, d) float32, or None for C = I
    n: int
    s: int
    k: int
    d: int


def _tensor(name: str, t, kind: str) -> torch.Tensor:
    """``t`` if it is a tensor of ``kind`` (``"index"``: int32/int64, ``"code"``: int8, ``"float"``)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if kind == "index" and t.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"{name}: expected dtype torch.int64 (or torch.int32) column indices, got {t.dtype}")
    if kind == "code" and t.dtype != torch.int8:
        raise TypeError(f"{name}: expected dtype torch.int8 codes (kernels.quantized grid), got {t.dtype}")
    if kind == "float" and not t.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating-point dtype, got {t.dtype}")
    return t


def _shape(name: str, t: torch.Tensor, expected: tuple, why: str = "") -> None:
    if tuple(t.shape) != tuple(expected):
        raise ValueError(f"{name}: expected shape {tuple(expected)}{why}, got {tuple(t.shape)}")


def _finite(name: str, t: torch.Tensor) -> None:
    if not all_finite(t):
        raise ValueError(f"{name}: contains NaN" if bool(torch.isnan(t).any()) else f"{name}: contains Inf")


def _columns(columns) -> int:
    """``columns`` (``k = d`` of ``C = I``) if it is a non-negative ``int``."""
    if isinstance(columns, bool) or not isinstance(columns, int):
        raise TypeError(f"columns: expected an int (k = d, the columns of Z when c_code is None), "
                        f"got {type(columns).__name__}")
    if columns < 0:
        raise ValueError(f"columns: expected an int >= 0 (k = d when c_code is None), got {columns}")
    return columns


def _check_factors(z_index, z_code, z_scale, c_code, c_scale, device: torch.device | None,
                   columns: int | None, columns_from: str) -> _Factors:
    """Validate the factors (``TypeError``/``ValueError`` naming the argument) and put them in kernel form.

    ``columns``: ``k`` (``= d``) when ``c_code`` is ``None``; ``columns_from`` says where it came from (the
    keyword ``columns``, or ``x.shape[-1]``), for the messages. ``None`` there is an error naming ``columns``.
    With ``c_code`` given, ``k`` is ``c_code.shape[0]`` and ``columns``, if not ``None``, must equal it.
    """
    _tensor("z_index", z_index, "index")
    _tensor("z_code", z_code, "code")
    _tensor("z_scale", z_scale, "float")
    if c_code is not None:
        _tensor("c_code", c_code, "code")
        _tensor("c_scale", c_scale, "float")
    elif c_scale is not None:
        raise ValueError("c_scale: expected None when c_code is None (C = identity has no scales), "
                         f"got a tensor of shape {tuple(_tensor('c_scale', c_scale, 'float').shape)}")
    if z_index.dim() != 2:
        raise ValueError(f"z_index: expected a 2-d tensor (n, s), got shape {tuple(z_index.shape)}")
    n, s = z_index.shape
    _shape("z_code", z_code, (n, s), " (that of z_index)")
    _shape("z_scale", z_scale, (n,), " (one scale per row of Z: n = z_index.shape[0])")
    if c_code is not None:
        if c_code.dim() != 2:
            raise ValueError(f"c_code: expected a 2-d tensor (k, d), got shape {tuple(c_code.shape)}")
        k, d = c_code.shape
        _shape("c_scale", c_scale, (k,), " (one per row of c_code)")
        if columns is not None and _columns(columns) != k:
            raise ValueError(f"columns: expected None or k = c_code.shape[0] = {k} when c_code is given, "
                             f"got {columns}")
        k_from = "c_code.shape[0]"
    else:
        if columns is None:
            raise ValueError("columns: expected an int (k = d, the columns of Z) when c_code is None "
                             "(C = identity), got None")
        k = d = _columns(columns)
        k_from = columns_from
    if s > k:
        raise ValueError(f"z_index: expected s <= k distinct columns per row, got s={s} > k={k} ({k_from})")
    device = z_index.device if device is None else device
    named = [("z_index", z_index), ("z_code", z_code), ("z_scale", z_scale)]
    named += [("c_code", c_code), ("c_scale", c_scale)] if c_code is not None else []
    for name, t in named:
        if t.device != device:
            raise ValueError(f"{name}: expected device {device}, got {t.device}")
    _finite("z_scale", z_scale)
    if c_code is not None:
        _finite("c_scale", c_scale)
    index = z_index.to(torch.int64)
    if index.numel():
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= k:
            raise ValueError(f"z_index: expected column indices in [0, {k - 1}] (k={k}, {k_from}), "
                             f"got values in [{lo}, {hi}]")
    index, order = index.sort(dim=1)  # CSR rows in column order; sorted, a repeat is two equal neighbours
    if s > 1:
        repeats = (index[:, 1:] == index[:, :-1]).any(dim=1)
        if bool(repeats.any()):
            row = int(repeats.nonzero()[0, 0])
            raise ValueError(f"z_index: expected distinct columns within each row, row {row} repeats one "
                             f"({z_index[row].tolist()})")
    code = z_code.gather(1, order)
    z_scale = z_scale.to(torch.float32)
    values = grid_values(code, z_scale[:, None])  # row i's entries on row i's grid
    c = grid_values(c_code, c_scale.to(torch.float32)[:, None]) if c_code is not None else None
    return _Factors(index.contiguous(), values, code.contiguous(), z_scale.contiguous(), c, n, s, k, d)


def _check_x_type(x) -> None:
    """``x`` is a floating tensor with at least one dimension (its last is ``d``)."""
    _tensor("x", x, "float")
    if x.dim() == 0:
        raise ValueError("x: expected shape (..., d), got a 0-d tensor")


def _check_x(x, d: int, n: int, bias) -> torch.Tensor:
    if x.shape[-1] != d:
        raise ValueError(f"x: expected last dimension d={d} (columns of C, c_code.shape[1]), "
                         f"got shape {tuple(x.shape)}")
    _finite("x", x)
    if bias is not None:
        _tensor("bias", bias, "float")
        _shape("bias", bias, (n,), " (one per output, rows of z_index)")
        if bias.device != x.device:
            raise ValueError(f"bias: expected device {x.device} (that of x), got {bias.device}")
        _finite("bias", bias)
    return x.reshape(-1, d).to(torch.float32)


def factorized_weight(z_index: torch.Tensor, z_code: torch.Tensor, z_scale: torch.Tensor,
                      c_code: torch.Tensor | None, c_scale: torch.Tensor | None, *,
                      columns: int | None = None) -> torch.Tensor:
    """The dense weight :math:`W = Z C` (``n x d``, float32) of the factors: the reference, which
    *materialises* ``W`` (``n d`` floats); :func:`factorized_linear` applies it without doing so.

    Arguments and checks as :func:`factorized_linear`. ``W = Z`` when ``c_code`` is ``None`` (``C = I``); then
    ``columns`` (an ``int``, ``k = d``) gives ``Z``'s width, which nothing else determines (``ValueError``
    naming ``columns`` if it is missing). With ``c_code`` given, ``k = c_code.shape[0]`` and ``columns`` must be
    ``None`` or equal to it.
    """
    f = _check_factors(z_index, z_code, z_scale, c_code, c_scale, None, columns, "columns")
    z = torch.zeros(f.n, f.k, dtype=torch.float32, device=f.index.device)
    z.scatter_(1, f.index, f.values)  # distinct columns per row: no two values land on one entry
    return z if f.c is None else z @ f.c


def _torch_path(x2: torch.Tensor, f: _Factors) -> torch.Tensor:
    y = x2 if f.c is None else x2 @ f.c.T  # (B, k)
    if f.s == 0 or f.n == 0 or x2.shape[0] == 0:
        return torch.zeros(x2.shape[0], f.n, dtype=torch.float32, device=x2.device)
    crow = torch.arange(0, f.n * f.s + 1, f.s, dtype=torch.int64, device=x2.device)
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta": nothing a caller can act on
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        # the invariants (sorted, in-range, distinct columns) were checked in _check_factors
        z = torch.sparse_csr_tensor(crow, f.index.reshape(-1), f.values.reshape(-1), size=(f.n, f.k),
                                    check_invariants=False)
    return (z @ y.T.contiguous()).T  # (n, k) @ (k, B) -> (n, B)


def factorized_linear(x: torch.Tensor, z_index: torch.Tensor, z_code: torch.Tensor, z_scale: torch.Tensor,
                      c_code: torch.Tensor | None, c_scale: torch.Tensor | None,
                      bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ (Z @ C).T + bias`` for the sparse quantized factors ``Z``, ``C``, without materialising ``W``.

    :math:`\\mathrm{out}_{b,i} = \\mathrm{bias}_i + \\sum_{j<s} \\zeta_i (q_{ij} + \\tfrac12)
    \\, (x C^\\top)_{b, \\iota_{ij}}` (see the module docstring).

    Args:
        x: floating tensor ``(..., d)``, finite; computed in float32.
        z_index: ``(n, s)`` int64 (or int32): the columns of ``Z``'s stored entries, in ``[0, k)``, distinct
            within each row (any order).
        z_code: ``(n, s)`` int8 codes of those entries.
        z_scale: ``(n,)`` floating, finite, one per row of ``Z`` (output channel):
            ``Z[i, z_index[i, j]] = z_scale[i] * (z_code[i, j] + 0.5)``.
        c_code: ``(k, d)`` int8 codes of ``C`` (``k = c_code.shape[0]``), or ``None`` for ``C = I`` (then
            ``k = d = x.shape[-1]``).
        c_scale: ``(k,)`` floating, finite: ``C[r, :] = c_scale[r] * (c_code[r, :] + 0.5)``; ``None`` with
            ``c_code=None``.
        bias: ``(n,)`` floating, finite, or ``None``.

    Returns:
        float32 tensor ``(..., n)``. Differentiable in ``x``, the scales and ``bias`` on the PyTorch path; the
        Triton kernel has no backward, so a call that needs gradients takes the PyTorch path.

    Raises:
        TypeError / ValueError whose message starts with the offending argument's name: wrong types or
        dtypes, inconsistent shapes (expected and received), indices out of range or repeated in a row,
        devices that differ from ``x``'s, NaN/Inf in ``x``, the scales or ``bias``.
    """
    _check_x_type(x)
    f = _check_factors(z_index, z_code, z_scale, c_code, c_scale, x.device,
                       x.shape[-1] if c_code is None else None, "x.shape[-1], C = identity")
    x2 = _check_x(x, f.d, f.n, bias)
    # the Triton kernel has no backward: a call that needs gradients takes the PyTorch path (an explicit
    # WORKBENCH_KERNELS=triton raises instead of silently dropping them)
    grads = torch.is_grad_enabled() and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in (x, z_scale, c_scale, bias))
    if choose_backend(x, supported=not grads, what="factorized_linear with autograd" if grads
                      else "factorized_linear") == "triton":
        yt = x2.T.contiguous() if f.c is None else f.c @ x2.T  # (k, B): a stored entry reads y along b
        out = _triton.factorized_rows(yt, f.index, f.code, f.z_scale,
                                      None if bias is None else bias.to(torch.float32).contiguous())
    else:
        out = _torch_path(x2, f)
        if bias is not None:
            out = out + bias.to(torch.float32)
    return out.reshape(*x.shape[:-1], f.n)
