"""What sparsity buys at inference, measured: bytes stored and milliseconds per batch, whatever they show.

Three ways to run a pruned layer ``y = x Wᵀ`` (``W``: (out, in), ``x``: (B, in)):

- dense: ``F.linear`` with the zeros stored and multiplied, ``out·in`` values;
- CSR (unstructured sparsity): ``nnz`` values + ``nnz`` column indices + ``out + 1`` row pointers, multiplied by
  a sparse kernel (``W_csr @ xᵀ``, activations feature-major);
- 2:4 semi-structured (NVIDIA GPUs of capability >= 8.0 only): half the values plus metadata, sparse tensor cores.

Structured pruning needs no sparse format: :func:`shrink` removes dead channels and gives a smaller dense model.
"""

from __future__ import annotations

import copy
import itertools
import math
import warnings
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils import benchmark

from kernels import nm_linear, semi_structured_supported, to_semi_structured
from workbench.checks import check_int
from workbench.pruning.masks import model_sparsity

__all__ = ["shrink", "csr_weight", "storage_bytes", "time_call", "linear_latency", "model_latency",
           "structured_latency"]

# modules that map a zero channel to a zero channel, so a dead channel stays dead through them
PASS_THROUGH = (nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Dropout, nn.Identity)


def _check_sequential(model) -> nn.Sequential:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Sequential, got {type(model).__name__}")
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"model: expected a torch.nn.Sequential of Linear/Conv2d layers, got a "
                         f"{type(model).__name__}")
    for i, module in enumerate(model):
        if isinstance(module, nn.Conv2d) and module.groups != 1:
            raise ValueError(f"model: shrink needs Conv2d layers with groups=1, got groups={module.groups} at "
                             f"index {i}")
        if isinstance(module, nn.Flatten) and (module.start_dim, module.end_dim) != (1, -1):
            raise ValueError(f"model: shrink needs Flatten(1, -1), got Flatten({module.start_dim}, "
                             f"{module.end_dim}) at index {i}")
        if not isinstance(module, (nn.Linear, nn.Conv2d) + PASS_THROUGH):
            raise ValueError(f"model: shrink supports Linear/Conv2d layers with ReLU, MaxPool2d, Flatten, Dropout "
                             f"or Identity between them, got {type(module).__name__} at index {i}")
    return model


@torch.no_grad()
def shrink(model: nn.Sequential) -> nn.Sequential:
    """A physically smaller dense copy of a structurally pruned ``Sequential``, computing the same function.

    Output channel ``c`` of a prunable layer (a Linear row ``W[c, :]``, a Conv2d filter ``W[c, :, :, :]``) is dead
    when its effective weight slice (``module.weight``, masks included) and its bias are zero: its output is 0, and
    ReLU, MaxPool2d, Flatten, Dropout and Identity keep it 0. Each dead channel of every prunable layer but the last
    is removed, with the next prunable layer's matching inputs: the input channel of a Conv2d, or the column of a
    Linear; through ``Flatten`` after a Conv2d with ``C`` outputs, channel ``c`` is the feature block
    ``[c·hw, (c+1)·hw)`` with ``hw = in_features / C``. Deadness is judged after the layer's own dead inputs are
    removed (a row whose only non-zeros read dead channels is dead too). Every layer keeps at least one channel
    (an all-dead layer keeps one zero channel). Linear layers must see ``(B, features)`` inputs.

    Returns a new ``Sequential`` with plain weights (no parametrizations); ``model`` is left unchanged.
    """
    model = _check_sequential(model)
    order = [i for i, m in enumerate(model) if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not order:
        raise ValueError("model: expected a Sequential with prunable layers (Linear or Conv2d), got none")
    for prev, nxt in itertools.pairwise(order):
        between = list(model)[prev + 1:nxt]
        flattened = any(isinstance(m, nn.Flatten) for m in between)
        if isinstance(model[nxt], nn.Conv2d) and isinstance(model[prev], nn.Linear):
            raise ValueError(f"model: shrink cannot follow a Linear (index {prev}) into a Conv2d (index {nxt})")
        if isinstance(model[prev], nn.Conv2d) and isinstance(model[nxt], nn.Linear) and not flattened:
            raise ValueError(f"model: expected a Flatten between the Conv2d at index {prev} and the Linear at "
                             f"index {nxt}")
    out: list[nn.Module] = [copy.deepcopy(m) if i not in order else None for i, m in enumerate(model)]
    keep_in: torch.Tensor | None = None  # indices of the current layer's inputs that survive
    for k, i in enumerate(order):
        module = model[i]
        w = module.weight.detach().clone()
        b = None if module.bias is None else module.bias.detach().clone()
        if keep_in is not None:
            w = w.index_select(1, keep_in.to(w.device))
        if k + 1 < len(order):
            alive = w.reshape(w.shape[0], -1).ne(0).any(dim=1)
            if b is not None:
                alive |= b.ne(0)
            keep = alive.nonzero().flatten()
            if keep.numel() == 0:
                keep = torch.zeros(1, dtype=torch.long, device=w.device)
            w = w.index_select(0, keep)
            b = None if b is None else b.index_select(0, keep)
            keep_in = _next_inputs(keep, module, model[order[k + 1]], i)
        out[i] = _rebuilt(module, w, b)
    shrunk = nn.Sequential(*out)
    shrunk.train(model.training)
    return shrunk


def _next_inputs(keep: torch.Tensor, module: nn.Module, nxt: nn.Module, index: int) -> torch.Tensor:
    """Indices of ``nxt``'s inputs fed by the kept output channels ``keep`` of ``module``."""
    n_out = module.weight.shape[0]
    n_in = nxt.weight.shape[1]
    if n_in == n_out:
        return keep
    if isinstance(nxt, nn.Linear) and n_in % n_out == 0:
        hw = n_in // n_out
        return (keep[:, None] * hw + torch.arange(hw, device=keep.device)).flatten()
    raise ValueError(f"model: the layer after index {index} takes {n_in} inputs, not a multiple of its "
                     f"{n_out} output channels")


def _rebuilt(module: nn.Module, w: torch.Tensor, b: torch.Tensor | None) -> nn.Module:
    kw = {"bias": b is not None, "device": w.device, "dtype": w.dtype}
    if isinstance(module, nn.Linear):
        new = nn.Linear(w.shape[1], w.shape[0], **kw)
    else:
        new = nn.Conv2d(w.shape[1], w.shape[0], module.kernel_size, module.stride, module.padding,
                        module.dilation, 1, padding_mode=module.padding_mode, **kw)
    new.weight.copy_(w)
    if b is not None:
        new.bias.copy_(b)
    new.train(module.training)
    return new


def _check_weight(name: str, w, dims=(2,)) -> torch.Tensor:
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(w).__name__}")
    if w.layout != torch.strided or w.dim() not in dims or not w.is_floating_point():
        shape = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{name}: expected a dense {shape} floating tensor, got a {w.dim()}-D {w.dtype} "
                         f"tensor ({w.layout})")
    if w.numel() == 0:
        raise ValueError(f"{name}: expected a non-empty tensor, got shape {tuple(w.shape)}")
    return w


def csr_weight(w: torch.Tensor) -> torch.Tensor:
    """``w`` (Linear ``(out, in)`` or Conv2d ``(out, in, kh, kw)``, flattened to ``(out, in·kh·kw)``) in sparse
    CSR: ``values`` and ``col_indices`` (nnz each) and ``crow_indices`` (out + 1); zeros are not stored."""
    w = _check_weight("w", w, dims=(2, 4))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return w.detach().reshape(w.shape[0], -1).to_sparse_csr()


def storage_bytes(t: torch.Tensor) -> int:
    """Bytes a tensor stores: dense ``numel · element size``; CSR ``values + col_indices + crow_indices``; COO
    ``values + indices``; a 2:4 semi-structured tensor the sum of its packed values and metadata."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"t: expected a torch.Tensor, got {type(t).__name__}")
    packed = [getattr(t, a, None) for a in ("packed", "meta", "packed_t", "meta_t", "compressed_swizzled_bitmask")]
    if any(isinstance(p, torch.Tensor) for p in packed):  # SparseSemiStructuredTensor
        return sum(_dense_bytes(p) for p in packed if isinstance(p, torch.Tensor))
    if t.layout == torch.strided:
        return _dense_bytes(t)
    if t.layout == torch.sparse_csr:
        return sum(_dense_bytes(p) for p in (t.values(), t.col_indices(), t.crow_indices()))
    if t.layout == torch.sparse_coo:
        t = t.coalesce()
        return _dense_bytes(t.values()) + _dense_bytes(t.indices())
    raise ValueError(f"t: expected a dense, CSR, COO or semi-structured tensor, got layout {t.layout}")


def _dense_bytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def time_call(fn: Callable[[], object], *, min_run_time: float = 0.2) -> float:
    """Median milliseconds per ``fn()`` from ``torch.utils.benchmark.Timer.blocked_autorange`` (all of torch's
    threads; CUDA is synchronised by the timer). A figure to report, never a pass/fail threshold."""
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
    if isinstance(min_run_time, bool) or not isinstance(min_run_time, (int, float)) or not (
            math.isfinite(min_run_time) and min_run_time > 0):
        raise ValueError(f"min_run_time: expected a positive finite number of seconds, got {min_run_time!r}")
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=float(min_run_time)).median * 1e3


def _zero_fraction(w: torch.Tensor) -> float:
    return float(w.eq(0).float().mean())


def _check_matches(name: str, got: torch.Tensor, want: torch.Tensor, w: torch.Tensor, x: torch.Tensor):
    """Raise unless ``|got - want| <= 2·n·ε·(|x| |W|ᵀ) + ε·|want|`` elementwise: the worst-case rounding of two
    length-``n`` dot products summed in different orders (n = in features, ε the dtype's epsilon), plus one
    rounding of the result."""
    eps = torch.finfo(w.dtype).eps
    scale = x.abs().double() @ w.detach().abs().double().T  # (B, out), like want
    bound = 2 * w.shape[1] * eps * scale + eps * want.abs().double()
    err = (got.double() - want.double()).abs()
    if bool((err > bound).any()):
        raise RuntimeError(f"{name}: result differs from the dense product by {float(err.max()):.3g}, over the "
                           f"rounding bound")


@torch.inference_mode()
def linear_latency(weight: torch.Tensor, batch: int = 256, *, sparsity_label: str | None = None,
                   min_run_time: float = 0.2, seed: int = 0) -> list[dict]:
    """Time one layer ``x Wᵀ`` (``weight``: (out, in), ``x``: (batch, in) standard normal) three ways.

    Rows ``{"format", "ms_per_batch", "bytes", "batch", "shape": [out, in], "sparsity"}``, ``sparsity`` the
    fraction of zeros in the weight computed; ``"label": sparsity_label`` too when given. Formats: ``"dense"``
    (``F.linear``, zeros included), ``"csr"`` (``W_csr @ xᵀ`` with activations kept feature-major, ``(in, batch)``,
    as a chain of sparse layers would; checked against dense first) and, only where
    :func:`kernels.semi_structured_supported` holds (CUDA, fp16/bf16, capability >= 8.0), ``"2:4"`` (the weight
    2:4-pruned by magnitude, through ``nm_linear``). No bias.
    """
    weight = _check_weight("weight", weight).detach()
    batch = check_int("batch", batch, 1)
    if sparsity_label is not None and not isinstance(sparsity_label, str):
        raise TypeError(f"sparsity_label: expected a str or None, got {type(sparsity_label).__name__}")
    g = torch.Generator().manual_seed(check_int("seed", seed, 0))
    x = torch.randn(batch, weight.shape[1], generator=g).to(weight.device, weight.dtype)
    xt = x.T.contiguous()
    w_csr = csr_weight(weight)
    dense = F.linear(x, weight)
    _check_matches("csr", torch.mm(w_csr, xt).T, dense, weight, x)
    base = {"batch": batch, "shape": list(weight.shape)}
    if sparsity_label is not None:
        base["label"] = sparsity_label
    rows = [
        {"format": "dense", "ms_per_batch": time_call(lambda: F.linear(x, weight), min_run_time=min_run_time),
         "bytes": storage_bytes(weight), "sparsity": _zero_fraction(weight), **base},
        {"format": "csr", "ms_per_batch": time_call(lambda: torch.mm(w_csr, xt), min_run_time=min_run_time),
         "bytes": storage_bytes(w_csr), "sparsity": _zero_fraction(weight), **base},
    ]
    if semi_structured_supported(weight):
        w24 = to_semi_structured(weight)
        pruned = w24.to_dense()
        _check_matches("2:4", nm_linear(x, w24), F.linear(x, pruned), pruned, x)
        ms = time_call(lambda: nm_linear(x, w24), min_run_time=min_run_time)
        rows.append({"format": "2:4", "ms_per_batch": ms, "bytes": storage_bytes(w24),
                     "sparsity": _zero_fraction(pruned), **base})
    return rows


def model_latency(model: nn.Module, x: torch.Tensor, *, min_run_time: float = 0.2) -> dict:
    """``{"ms_per_batch", "bytes", "parameters"}`` of ``model(x)`` in eval mode under ``torch.inference_mode()``:
    bytes of all parameters and buffers (masks included, if any), parameter count (elements). The model's training
    flag is restored afterwards."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            ms = time_call(lambda: model(x), min_run_time=min_run_time)
    finally:
        model.train(was_training)
    tensors = list(model.parameters()) + list(model.buffers())
    return {"ms_per_batch": ms, "bytes": sum(storage_bytes(t.detach()) for t in tensors),
            "parameters": sum(p.numel() for p in model.parameters())}


def structured_latency(model: nn.Sequential, x: torch.Tensor, *, min_run_time: float = 0.2) -> list[dict]:
    """Rows ``{"format", "ms_per_batch", "bytes", "parameters", "sparsity", "batch"}`` for ``"dense (masked)"``, the
    model with its masks baked in (a dense model whose weights hold the zeros; the mask multiply is not timed),
    and ``"structured (shrunk)"``, :func:`shrink` of it. ``sparsity`` is the masked model's :func:`model_sparsity`
    on both rows."""
    model = _check_sequential(model)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    # rebuilt rather than ``remove_masks(copy.deepcopy(model))``: a deepcopy shares the parametrized class, and
    # removing the copy's parametrization deletes the original's ``weight`` property with it
    with torch.no_grad():
        masked = nn.Sequential(*(_rebuilt(m, m.weight.detach(), None if m.bias is None else m.bias.detach())
                                 if isinstance(m, (nn.Linear, nn.Conv2d)) else copy.deepcopy(m) for m in model))
    sparsity = model_sparsity(model)
    rows = []
    for fmt, m in (("dense (masked)", masked), ("structured (shrunk)", shrink(model))):
        rows.append({"format": fmt, **model_latency(m, x, min_run_time=min_run_time), "sparsity": sparsity,
                     "batch": len(x)})
    return rows
