"""Property-based tests of the public ``kernels`` API, and the fuzzing regressions of issue 18 §3.

Every input either gives the documented result or a ``ValueError``/``TypeError`` whose message starts
with the name of a bad argument. Each hypothesis test has a hang guard (``pytest.mark.timeout``), never a
speed assertion (``deadline=None``: the machine may be loaded).
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.strategies import floats, named_error
from kernels import (
    from_semi_structured, mvue_probabilities, mvue_prune, mvue_variance, nm_compress, nm_decompress, nm_linear,
    nm_mask, nm_prune, semi_structured_supported, to_semi_structured,
)

Z_MAX = 5.5  # two-sided normal tail 4e-8 per entry: a few hundred entries per run never false-alarm
FAST = settings(max_examples=40, deadline=None)
HANG = pytest.mark.timeout(60)


@st.composite
def nm_cases(draw, dtypes=(torch.float32, torch.float64), only_valid=False):
    """``(x, n, m, dim)``: valid cases, plus (unless ``only_valid``) bad ``n``/``m``/``dim``/shapes and
    non-finite entries."""
    m = draw(st.integers(2, 8) if only_valid else st.integers(-1, 8))
    n = draw(st.integers(1, m - 1) if only_valid else st.integers(-1, 9))
    ndim = draw(st.integers(1, 3))
    shape = draw(st.lists(st.integers(0, 3), min_size=ndim, max_size=ndim))
    dim = draw(st.integers(-ndim, ndim - 1) if only_valid else st.integers(-4, 3))
    if m >= 1 and -ndim <= dim < ndim and (only_valid or draw(st.booleans())):
        shape[dim] *= m  # a multiple of m along dim
    dtype = draw(st.sampled_from(dtypes))
    width = 32 if dtype != torch.float64 else 64
    numel = math.prod(shape)
    finite = floats(width=width, allow_nan=not only_valid, allow_infinity=not only_valid)
    if dtype == torch.float16:
        finite = floats(-65504, 65504, width=16)
    values = draw(st.lists(finite, min_size=numel, max_size=numel))
    return torch.tensor(values, dtype=torch.float64).reshape(shape).to(dtype), n, m, dim


def valid(x, n, m, dim):
    return (1 <= n < m and -x.dim() <= dim < x.dim() and x.shape[dim] % m == 0
            and bool(torch.isfinite(x).all()))


def blocks_of(t, m, dim):
    return t.movedim(dim, -1).reshape(-1, m)


@HANG
@FAST
@given(nm_cases())
def test_nm_mask_and_prune_keep_the_n_largest(case):
    x, n, m, dim = case
    mask = named_error(lambda: nm_mask(x, n, m, dim), {"x", "n", "m", "dim"})
    pruned = named_error(lambda: nm_prune(x, n, m, dim), {"x", "n", "m", "dim"})
    assert (mask is None) == (pruned is None) == (not valid(x, n, m, dim))  # valid input never raises
    if mask is None:
        return
    assert mask.shape == pruned.shape == x.shape and pruned.dtype == x.dtype
    assert (blocks_of(mask, m, dim).sum(-1) == n).all()
    assert torch.equal(pruned, torch.where(mask, x, torch.zeros_like(x)))
    # no dropped entry is larger than a kept one in its block
    mag, keep = blocks_of(x.abs(), m, dim), blocks_of(mask, m, dim)
    if keep.numel():
        kept_min = torch.where(keep, mag, torch.full_like(mag, math.inf)).amin(-1)
        dropped_max = torch.where(keep, torch.full_like(mag, -1.0), mag).amax(-1)
        assert (dropped_max <= kept_min).all()


@HANG
@FAST
@given(nm_cases(), st.sampled_from(["exact", "approx"]))
def test_mvue_prune_keeps_at_most_n_rescaled_entries(case, method):
    x, n, m, dim = case
    out = named_error(lambda: mvue_prune(x, n, m, dim, method=method, generator=torch.Generator().manual_seed(0)),
                      {"x", "n", "m", "dim", "method"})
    if out is None:
        if valid(x, n, m, dim) and (method == "exact" or (n, m) == (2, 4)):
            # the only legitimate failure of a valid call: a kept value x_i / p_i is at most the block's
            # magnitude sum, and overflowed the dtype
            sums = blocks_of(x.double().abs(), m, dim).sum(-1)
            assert float(sums.max()) >= torch.finfo(x.dtype).max * (1 - 1e-6)
        return
    assert out.shape == x.shape and out.dtype == x.dtype
    assert bool(torch.isfinite(out).all())
    kept = blocks_of(out != 0, m, dim)
    assert (kept.sum(-1) <= n).all()
    p = mvue_probabilities(x, n, m, dim, method=method)
    assert ((p >= 0) & (p <= 1)).all()
    # kept entries are Horvitz-Thompson rescaled: x_i / p_i (float rounding of the division only)
    k = out != 0
    assert torch.allclose(out[k].double(), (x[k].double() / p[k].double()), rtol=1e-5, atol=0)
    assert (mvue_variance(x, n, m, dim, method=method) >= 0).all()


@HANG
@settings(max_examples=30, deadline=None)
@given(
    n_m=st.sampled_from([(1, 2), (2, 4), (1, 4), (3, 4)]),
    method=st.sampled_from(["exact", "approx"]),
    base=st.lists(st.sampled_from([0.0, 0.1, -0.3, 1.0, -2.5, 10.0]), min_size=4, max_size=4),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    exponent=st.integers(-140, 126),
)
def test_mvue_is_unbiased_at_any_scale(n_m, method, base, dtype, exponent):
    """E[mvue_prune(x)] = x, for blocks scaled by 2**exponent (from subnormal to near overflow in float32)."""
    n, m = n_m
    assume(method == "exact" or (n, m) == (2, 4))
    x = (torch.tensor(base[:m], dtype=torch.float64) * 2.0**exponent).to(dtype).unsqueeze(0)
    reps = 10000
    out = named_error(lambda: mvue_prune(x.expand(reps, m), n, m, method=method,
                                         generator=torch.Generator().manual_seed(1)), {"x"})
    assume(out is not None)  # an unrepresentable x_i / p_i: checked in the test above
    # compare in units of the scale (exact powers of two), so float64 never overflows
    s = 2.0**exponent
    xs, mean = x.double()[0] / s, out.double().mean(0) / s
    p = mvue_probabilities(x, n, m, method=method).double()[0]
    var = torch.where(p > 0, xs.square() * (1 / p.clamp_min(1e-300) - 1), torch.zeros_like(p))
    assert p[xs != 0].min() > 1e-3 if (xs != 0).any() else True  # p stays meaningful at every scale
    z = (mean - xs).abs() / (var / reps).sqrt()
    assert float(z[var > 0].max(), ) < Z_MAX if (var > 0).any() else True
    # p = 1 entries are kept as they are in every draw (the mean then equals x up to summation rounding)
    assert torch.allclose(mean[var == 0], xs[var == 0], rtol=1e-9, atol=0)


@pytest.mark.parametrize("dtype,big", [(torch.float32, 2e38), (torch.float64, 1e308)])
def test_mvue_huge_block_keeps_its_probabilities(dtype, big, backend):
    """Issue 18: the block sum overflowed and every entry came back 0. Three equal entries, 2:4: p = 2/3."""
    x = torch.tensor([[big, -big, big, 0.0]], dtype=dtype)
    p = mvue_probabilities(x, 2, 4)
    assert torch.allclose(p.double(), torch.tensor([[2 / 3, 2 / 3, 2 / 3, 0.0]], dtype=torch.float64), rtol=1e-6)
    out = mvue_prune(x.expand(300, 4), 2, 4, generator=torch.Generator().manual_seed(0))
    assert ((out != 0).sum(-1) == 2).all()  # exactly n kept
    kept = out != 0
    assert torch.allclose(out[kept].double(), (x.expand(300, 4)[kept] * 1.5).double(), rtol=1e-6)  # x / p


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mvue_tiny_block_is_not_biased(dtype, backend):
    """A block of equal subnormal-scale entries had p = 1 everywhere (sum 4 > n): its mean was x / 2."""
    x = torch.full((1, 4), 1e-40 if dtype == torch.float32 else 1e-310, dtype=dtype)
    if (x * 1.0 == 0).all():  # checked in this process, not assumed
        pytest.skip("this process flushes subnormals to zero (a library built with -ffast-math, e.g. a Firedrake "
                    "kernel, was loaded earlier in the session): no arithmetic can use them here")
    assert torch.allclose(mvue_probabilities(x, 2, 4).double(), torch.full((1, 4), 0.5, dtype=torch.float64))
    assert ((mvue_prune(x.expand(50, 4), 2, 4, generator=torch.Generator().manual_seed(0)) != 0).sum(-1) == 2).all()


@pytest.mark.parametrize("method", ["exact", "approx"])
@pytest.mark.parametrize("dtype,big", [(torch.float32, 3e38), (torch.float64, 1e308)])
def test_mvue_unrepresentable_output_raises(dtype, big, method, backend):
    """[big] * 4: each kept entry is x / (1/2) = 2 big, beyond the dtype; an error, not zeros or Inf."""
    with pytest.raises(ValueError, match="^x: an unbiased kept value"):
        mvue_prune(torch.full((2, 4), big, dtype=dtype), 2, 4, method=method)


def test_mvue_low_precision_overflow_raises():
    with pytest.raises(ValueError, match="^x: .*overflows torch.float16"):
        mvue_prune(torch.tensor([[60000.0, -60000.0]], dtype=torch.float16), 1, 2)  # keeps +-120000


@HANG
@FAST
@given(nm_cases(dtypes=(torch.float16, torch.float32, torch.float64), only_valid=True))
def test_compress_decompress_round_trip(case):
    x, n, m, dim = case
    y = nm_prune(x, n, m, dim)
    values, indices = nm_compress(y, n, m, dim)
    assert indices.dtype == torch.uint8 and values.dtype == y.dtype
    assert torch.equal(nm_decompress(values, indices, n, m, y.shape, dim), y)


@HANG
@FAST
@given(
    n_m=st.sampled_from([(1, 2), (2, 4), (1, 3), (2, 8), (3, 16), (2, 3)]),
    rows=st.integers(0, 3),
    blocks=st.integers(0, 3),
    data=st.data(),
)
def test_decompress_of_arbitrary_indices(n_m, rows, blocks, data):
    """Any uint8 index bytes: a tensor with the values at distinct in-block positions, or an error naming indices."""
    n, m = n_m
    values = torch.arange(1.0, rows * blocks * n + 1).reshape(rows, blocks * n)  # all non-zero
    per = 8 // (2 if m <= 4 else 4 if m <= 16 else 8)
    width = data.draw(st.integers(0, 3)) if data.draw(st.booleans()) else -(-blocks * n // per)
    raw = data.draw(st.lists(st.integers(0, 255), min_size=rows * width, max_size=rows * width))
    indices = torch.tensor(raw, dtype=torch.uint8).reshape(rows, width)
    out = named_error(lambda: nm_decompress(values, indices, n, m, (rows, blocks * m)), {"indices"})
    if out is not None:
        assert out.shape == (rows, blocks * m)
        assert ((out.reshape(-1, m) != 0).sum(-1) == n).all()  # no value dropped
        assert torch.equal(out[out != 0].sort().values, values.flatten().sort().values)


@pytest.mark.parametrize(
    "shape,dim,word",
    [((), -1, "shape"), ((4,), 7, "dim"), ((4,), -2, "dim"), ("ab", -1, "shape"), ((-4,), -1, "shape")],
)
def test_decompress_rejects_bad_shape_and_dim(shape, dim, word):
    """Issue 18: shape=() divided by zero, dim=7 wrapped silently."""
    values, indices = nm_compress(torch.tensor([1.0, 0.0, 2.0, 0.0]), 2, 4)
    with pytest.raises((ValueError, TypeError), match=f"^{word}:"):
        nm_decompress(values, indices, 2, 4, shape, dim)


def test_decompress_rejects_repeated_indices():
    """Issue 18: indices (0, 0) in one block silently dropped the first value."""
    values = torch.tensor([[1.0, 2.0]])
    with pytest.raises(ValueError, match="^indices: a block repeats"):
        nm_decompress(values, torch.tensor([[0]], dtype=torch.uint8), 2, 4, (1, 4))
    with pytest.raises(ValueError, match="^indices: expected in-block positions < m=3"):
        nm_decompress(values[:, :1], torch.tensor([[3]], dtype=torch.uint8), 1, 3, (1, 3))


@HANG
@settings(max_examples=20, deadline=None)
@given(rows=st.integers(1, 4), cols=st.sampled_from([4, 8, 12]), batch=st.integers(0, 3), bias=st.booleans())
def test_semi_structured_falls_back_to_the_pruned_dense_matmul(rows, cols, batch, bias):
    g = torch.Generator().manual_seed(rows * 100 + cols)
    w, x = torch.randn(rows, cols, generator=g), torch.randn(batch, cols, generator=g)
    b = torch.randn(rows, generator=g) if bias else None
    assert semi_structured_supported(w) is False  # CPU
    ws = to_semi_structured(w)
    assert torch.equal(from_semi_structured(ws), nm_prune(w, 2, 4))
    assert torch.allclose(nm_linear(x, ws, b), F.linear(x, nm_prune(w, 2, 4), b))
