"""The one-pass (Numba) CPU path for 1:2 / 2:4 agrees with the generic path, stays unbiased, checks its input and
output as it goes, and reads its input once."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import _fused_cpu, mvue_prune, mvue_variance, nm_prune

NUMEL = _fused_cpu.MIN_NUMEL  # the smallest size that takes the fused path
PATTERNS = [(1, 2), (2, 4)]


def test_fused_path_is_taken():
    for method in ("mse", "exact"):
        for n, m in PATTERNS:
            assert _fused_cpu.fused_available(torch.empty(NUMEL), n, m, method)
    assert not _fused_cpu.fused_available(torch.empty(NUMEL - 4), 2, 4, "mse")
    assert not _fused_cpu.fused_available(torch.empty(NUMEL), 2, 4, "approx")  # the sequential sampler: generic
    assert not _fused_cpu.fused_available(torch.empty(NUMEL), 2, 8, "mse")
    assert not _fused_cpu.fused_available(torch.empty(NUMEL, dtype=torch.bfloat16), 2, 4, "mse")


@pytest.mark.parametrize("n,m", PATTERNS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_prune_equals_generic(n, m, dtype, gen, generic):
    x = torch.randn(NUMEL // 8, 8, generator=gen).to(dtype)
    x[0, :4] = 1.0  # ties go to the lower index on both paths
    x[1, :4] = 0.0
    x[2, :4] = torch.tensor([-2.0, 2.0, -2.0, 1.0])  # ties across signs: magnitudes compare
    for dim in (1, 0):
        assert torch.equal(nm_prune(x, n, m, dim=dim), generic(nm_prune, x, n, m, dim=dim))


@pytest.mark.parametrize("n,m", PATTERNS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mvue_equals_generic(n, m, dtype, gen, generic):
    x = torch.randn(4 * NUMEL, generator=gen).to(dtype)
    x[:8] = 0.0  # all-zero blocks give zeros
    x[8:12] = torch.tensor([5.0, 0.0, 0.0, 0.0])  # one non-zero: kept, p = 1
    a = mvue_prune(x, n, m, generator=torch.Generator().manual_seed(5))
    b = generic(mvue_prune, x, n, m, generator=torch.Generator().manual_seed(5))
    # same counter-based uniforms; probabilities are computed in a different order (closed form vs
    # sort), so a uniform that falls within float rounding of a boundary may flip: allow 1e-4 of blocks
    differ = ((a != 0) != (b != 0)).reshape(-1, m).any(-1)
    assert differ.float().mean() < 1e-4
    same = ~differ.repeat_interleave(m)
    rtol = 1e-5 if dtype == torch.float32 else 1e-12  # a few ulps of a different summation order
    assert torch.allclose(a[same], b[same], rtol=rtol, atol=0)
    assert torch.equal(a[:8], torch.zeros(8, dtype=dtype))
    if m == 4:
        assert torch.equal(a[8:12], x[8:12])


@pytest.mark.parametrize("n,m", PATTERNS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_mvue_is_unbiased(n, m, dtype, gen):
    base = torch.randn(64, 16, generator=gen, dtype=torch.float64)
    base[0, :4] = torch.tensor([10.0, 1.0, 0.5, -0.2], dtype=torch.float64)  # a dominant entry
    base = base.to(dtype)
    reps = 1024
    d = mvue_prune(base.repeat(reps, 1), n, m, generator=gen).reshape(reps, *base.shape).double()
    var = mvue_variance(base, n, m).double()
    z = (d.mean(0) - base.double()).abs() / (var / reps).sqrt()
    assert float(z[var > 0].max()) < 5.5  # 1024 entries: false alarm < 1e-4
    assert abs(float(d.var(0).sum() / var.sum()) - 1) < 0.1  # 1024 copies: sd of the ratio ~ 0.02


@pytest.mark.parametrize("op", ["nm_prune", "mvue_prune"])
@pytest.mark.parametrize("n,m", PATTERNS)
def test_fused_detects_nan_and_inf(op, n, m):
    fn = nm_prune if op == "nm_prune" else mvue_prune
    x = torch.zeros(NUMEL)
    for where in (7, NUMEL - 1):  # in the first thread's range and in the last
        x.zero_()
        x[where] = float("nan")
        with pytest.raises(ValueError, match="NaN"):
            fn(x, n, m)
        x[where] = -float("inf")
        with pytest.raises(ValueError, match="Inf"):
            fn(x, n, m)


@pytest.mark.parametrize("n,m", PATTERNS)
def test_fused_rescales_huge_blocks(n, m):
    """Issue 18: a block sum that overflows float32 gave zeros. 2:4 [2e38]*3: p = 2/3, kept 3e38; 1:2
    [1e38, 3e38]: S = 4e38 overflows, p = (1/4, 3/4), kept +-4e38 overflows: an error, not zeros."""
    x = torch.zeros(NUMEL)
    x[:4] = torch.tensor([2e38, 2e38, 2e38, 0.0])
    if m == 4:
        out = mvue_prune(x, n, m, generator=torch.Generator().manual_seed(0))
        assert int((out[:4] != 0).sum()) == 2 and torch.allclose(out[:4][out[:4] != 0], torch.tensor(3e38))
    else:
        x[:2] = torch.tensor([1e38, 3e38])
        with pytest.raises(ValueError, match="^x: an unbiased kept value"):
            mvue_prune(x, n, m)


def test_fused_rescales_tiny_blocks(generic):
    """Subnormal blocks: S would lose precision (or underflow) without the per-block rescale; the result matches
    the generic path's, which rescales the same way."""
    x = torch.full((NUMEL,), 1e-41)
    x[1::4] = 3e-41
    a = mvue_prune(x, 2, 4, generator=torch.Generator().manual_seed(1))
    b = generic(mvue_prune, x, 2, 4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a != 0, b != 0)
    assert torch.isfinite(a).all() and int((a != 0).sum()) == NUMEL // 2


# Operators that only allocate, reshape or view: anything else on a tensor of x's size is a pass over memory
_NO_PASS_OPS = {"aten::empty", "aten::empty_like", "aten::empty_strided", "aten::view", "aten::reshape",
                "aten::_reshape_alias", "aten::as_strided", "aten::movedim", "aten::permute", "aten::alias",
                "aten::contiguous", "aten::detach", "aten::lift_fresh", "aten::unsqueeze", "aten::resolve_conj",
                "aten::resolve_neg", "aten::_unsafe_view", "aten::expand", "aten::t",
                "aten::to"}  # .numpy(): a same-dtype `to` is a no-op (a copy would show as aten::_to_copy, aten::copy_)


def _full_size_ops(fn, x) -> set[str]:
    """The PyTorch operators a call of ``fn(x)`` runs on a tensor of at least half ``x``'s size."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        fn(x)
    big = x.numel() // 2
    return {e.name for e in prof.events() if e.name.startswith("aten::")
            and any(math.prod(shape) >= big for shape in e.input_shapes if shape)}


@pytest.mark.parametrize("op,n,m", [("nm_prune", 2, 4), ("nm_prune", 1, 2), ("mvue_prune", 2, 4),
                                    ("mvue_prune", 1, 2)])
def test_fused_reads_its_input_once(op, n, m, generic):
    """The profile of a fused call: no PyTorch operator passes over the data (the one kernel reads x and writes
    the output); on the generic path a dozen do, the finiteness check among them."""
    fn = (lambda x: nm_prune(x, n, m)) if op == "nm_prune" else (lambda x: mvue_prune(x, n, m))
    x = torch.randn(NUMEL)
    fn(x)  # compile (or load) the kernel outside the profile
    touching = _full_size_ops(fn, x)
    assert touching - _NO_PASS_OPS == set(), touching - _NO_PASS_OPS
    assert touching >= {"aten::empty_like"}  # the output's allocation was recorded: the check is not vacuous
    passes = generic(_full_size_ops, fn, x) - _NO_PASS_OPS
    assert "aten::isfinite" in passes and len(passes) >= 4


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 64), seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([1e-30, 1.0, 1e30]),
       n_m=st.sampled_from(PATTERNS))
@pytest.mark.timeout(120)
def test_fused_blocks_property(rows, seed, scale, n_m):
    """On any ``(B, m)`` blocks the kernels keep at most ``n`` entries per block, keep only entries of ``x`` (MSE)
    or ``x_i / p_i`` with ``p_i`` in (0, 1] (MVUE: same sign, magnitude at least ``|x_i|``)."""
    n, m = n_m
    g = torch.Generator().manual_seed(seed)
    blocks = torch.randn(rows * 64, m, generator=g) * scale
    blocks[blocks.abs() < 0.3 * scale] = 0.0  # blocks with fewer than n non-zeros too
    out, flags = _fused_cpu.nm_prune_blocks(blocks, n, m)
    assert flags == 0
    assert ((out != 0).sum(-1) <= n).all() and torch.equal(out[out != 0], blocks[out != 0])
    out, flags = _fused_cpu.mvue_blocks(blocks, n, m, "exact", seed)
    assert flags == 0
    kept = out != 0
    assert ((kept.sum(-1) <= n)).all() and (blocks[kept] != 0).all()
    assert (torch.sign(out[kept]) == torch.sign(blocks[kept])).all()
    assert (out[kept].abs() >= blocks[kept].abs() * (1 - 1e-6)).all()  # 1/p >= 1, up to float32 rounding
