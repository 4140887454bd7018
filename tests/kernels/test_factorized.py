"""The quantization grid (``kernels.quantized``) and the factorized linear layer (``kernels.factorized``).

Tolerances. Both ``factorized_linear`` and the materialised reference ``x @ factorized_weight(...).T + bias``
compute sums of products of float32 numbers in some order. For a sum of ``m`` products the rounding error is
at most ``gamma_m * sum |terms|`` with ``gamma_m ~ m u``, ``u = 2^-24`` (Higham, Accuracy and Stability of
Numerical Algorithms, 3.1), whatever the order, blocking or FMA use of the BLAS. With
``M = |x| @ (|Z| @ |C|).T + |bias|`` (float64) the op is within ``(d + s + 3) u M`` of the exact result
(dequantizing Z and C: 2 roundings, ``y = x C^T``: ``d`` terms, the sparse sum: ``s`` terms, the bias: 1)
and the reference within ``(d + k + 4) u M`` (``W = Z C`` is a dense ``k``-term matmul), so they differ by
at most ``(2d + k + s + 7) u M``; we allow ``(2d + k + s + 8) u M``. Real errors are about ``sqrt(d) u M``;
a wrong index, code or scale changes the result by a whole term, ``~ M / s``, far outside the bound.
``ATOL`` covers underflow only: a product flushed to zero (the process may run in flush-to-zero mode, see
``tests/strategies.py``) loses < 2^-126 ~ 1.2e-38; here |x| <= 1e3 and every non-zero scale is in
[2^-10, 1e3] (so a dequantized entry is 0 or >= 2^-11 in magnitude, never subnormal), and a lost product is
multiplied by at most one more factor < 2e5 and summed with < 100 others: < 3e-31 in all.
"""

import os

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names, floats, named_error
from kernels import _triton, dequantize, factorized_linear, factorized_weight, quantize_codes
from kernels.quantized import code_range

U = 2.0**-24
ATOL = 1e-30
FAST = settings(max_examples=40, deadline=None)
HANG = pytest.mark.timeout(120)


def interpreter_runs() -> str | None:
    """Why the Triton path cannot run on CPU tensors in this process, or ``None``."""
    if not _triton.available():
        return "triton is not installed"
    if os.environ.get("TRITON_INTERPRET") != "1":
        return "Triton is compiled for the GPU in this run; test_cuda.py checks it on CUDA tensors"
    return None


def factors(n, k, d, s, *, bits=4, identity=False, seed=0):
    """Random valid factors: distinct sorted-or-not column indices, codes over the whole ``bits`` range."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = code_range(bits)
    z_index = torch.argsort(torch.rand(n, k, generator=g), dim=1)[:, :s]  # distinct, in random order
    z_code = torch.randint(lo, hi + 1, (n, s), generator=g, dtype=torch.int8)
    z_scale = torch.rand(n, generator=g) + 0.05  # one per row of Z
    if identity:
        return dict(z_index=z_index, z_code=z_code, z_scale=z_scale, c_code=None, c_scale=None)
    c_code = torch.randint(lo, hi + 1, (k, d), generator=g, dtype=torch.int8)
    c_scale = torch.rand(k, generator=g) + 0.05
    return dict(z_index=z_index, z_code=z_code, z_scale=z_scale, c_code=c_code, c_scale=c_scale)


def columns(f, d):
    """``factorized_weight``'s ``columns`` keyword for factors ``f`` of a layer with ``d`` inputs: ``k = d``
    when ``C = I`` (nothing else gives it), none otherwise (``k = c_code.shape[0]``)."""
    return {"columns": d} if f["c_code"] is None else {}


def dense64(f, d):
    """``(Z, C)`` in float64 from the codes (exact: int8 codes and float32 scales fit float64's products);
    ``d`` is the layer's input width (``k = d`` when ``C = I``)."""
    n, s = f["z_index"].shape
    k = d if f["c_code"] is None else f["c_code"].shape[0]
    z = torch.zeros(n, k, dtype=torch.float64)
    vals = f["z_scale"].double()[:, None] * (f["z_code"].double() + 0.5)  # row i on row i's scale
    z.scatter_(1, f["z_index"].long(), vals)
    c = torch.eye(k, dtype=torch.float64) if f["c_code"] is None else f["c_scale"].double()[:, None] * (
        f["c_code"].double() + 0.5)
    return z, c


def bound(x, f, bias):
    """``(2d + k + s + 8) u M + ATOL``, ``M = |x| @ (|Z| |C|).T + |bias|`` (see the module docstring)."""
    z, c = dense64(f, x.shape[-1])
    k, d = c.shape
    s = f["z_index"].shape[1]
    m = x.double().abs() @ (z.abs() @ c.abs()).T
    if bias is not None:
        m = m + bias.double().abs()
    return (2 * d + k + s + 8) * U * m + ATOL


def assert_within(out, ref, tol):
    err = (out.double() - ref.double()).abs()
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert bool((err <= tol).all()), f"max error {float(err.max())}, max allowed {float(tol.min())}"


def reference(x, f, bias):
    out = x @ factorized_weight(**f, **columns(f, x.shape[-1])).T
    return out if bias is None else out + bias


def on(backend, fn):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_KERNELS", backend)
        return fn()


# --- the quantization grid -------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", range(1, 9))
def test_grid_levels_and_codes(bits):
    lo, hi = code_range(bits)
    assert (lo, hi) == (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    q = torch.arange(lo, hi + 1, dtype=torch.int8)[None]
    v = dequantize(q, torch.tensor([2.0]), dim=0)
    assert v.dtype == torch.float32
    assert torch.equal(v, 2.0 * (q.float() + 0.5))  # symmetric, no zero level
    assert torch.equal(v, -v.flip(-1))
    assert torch.equal(quantize_codes(v, torch.tensor([2.0]), bits, dim=0), q)  # levels map to their codes


def test_dequantize_scales_run_along_dim():
    codes = torch.tensor([[0, 1, -1], [2, -2, 3]], dtype=torch.int8)
    rows = dequantize(codes, torch.tensor([1.0, 10.0]), dim=0)
    cols = dequantize(codes, torch.tensor([1.0, 10.0, 100.0]), dim=1)
    assert torch.equal(rows, torch.tensor([[0.5, 1.5, -0.5], [25.0, -15.0, 35.0]]))
    assert torch.equal(cols, torch.tensor([[0.5, 15.0, -50.0], [2.5, -15.0, 350.0]]))
    assert torch.equal(dequantize(codes, torch.tensor([1.0, 10.0, 100.0]), dim=-1), cols)


@HANG
@FAST
@given(
    bits=st.integers(1, 8),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    data=st.data(),
)
def test_quantize_gives_the_nearest_level(bits, shape, data):
    """Against brute force over all 2^bits levels: no level is nearer than the chosen one."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    numel = torch.Size(shape).numel()
    x = torch.tensor(data.draw(st.lists(floats(-1e4, 1e4, width=32), min_size=numel, max_size=numel)),
                     dtype=torch.float32).reshape(shape)
    scales = torch.tensor(data.draw(st.lists(floats(2**-10, 1e3, width=32), min_size=shape[dim],
                                             max_size=shape[dim])), dtype=torch.float32)
    q = quantize_codes(x, scales, bits, dim)
    lo, hi = code_range(bits)
    assert q.dtype == torch.int8 and q.shape == x.shape
    assert bool(((q >= lo) & (q <= hi)).all())
    got = (dequantize(q, scales, dim).double() - x.double()).abs()
    nearest = torch.stack([(dequantize(torch.full_like(q, level), scales, dim).double() - x.double()).abs()
                           for level in range(lo, hi + 1)]).amin(0)
    # the chosen level is the nearest one in exact arithmetic; the levels themselves are float32 roundings
    # of s (q + 1/2), each off by < u |level| <= u s 2^bits, which can reorder (near-)ties: allow twice that
    per_index = [1] * len(shape)
    per_index[dim] = -1
    slack = 2 * U * 2**bits * scales.double().reshape(per_index)
    assert bool((got <= nearest + slack).all())


@HANG
@FAST
@given(bits=st.integers(1, 8), data=st.data())
def test_levels_round_trip_and_codes_are_clamped(bits, data):
    lo, hi = code_range(bits)
    n = data.draw(st.integers(1, 20))
    q = torch.tensor(data.draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), dtype=torch.int8)[None]
    scale = torch.tensor([data.draw(floats(2**-66, 2**66, width=32))])  # one row, one scale
    assert torch.equal(quantize_codes(dequantize(q, scale, 0), scale, bits, 0), q)
    far = torch.tensor([1e30, -1e30, 3e38, -3e38])  # far outside the grid: clamped to the end codes
    assert quantize_codes(far[None], scale, bits, 0).tolist() == [[hi, lo, hi, lo]]


@pytest.mark.parametrize(
    "call,exc,name",
    [
        (lambda: quantize_codes(torch.ones(3), torch.ones(3), 0, 0), ValueError, "bits"),
        (lambda: quantize_codes(torch.ones(3), torch.ones(3), 9, 0), ValueError, "bits"),
        (lambda: quantize_codes(torch.ones(3), torch.ones(3), True, 0), TypeError, "bits"),
        (lambda: quantize_codes(torch.ones(3), torch.ones(3), 4.0, 0), TypeError, "bits"),
        (lambda: quantize_codes(torch.ones(3), torch.ones(2), 4, 0), ValueError, "scales"),
        (lambda: quantize_codes(torch.ones(3), torch.tensor([1.0, 0.0, 1.0]), 4, 0), ValueError, "scales"),
        (lambda: quantize_codes(torch.ones(3), torch.tensor([1.0, float("inf"), 1.0]), 4, 0), ValueError, "scales"),
        (lambda: quantize_codes(torch.tensor([1.0, float("nan")]), torch.ones(2), 4, 0), ValueError, "x"),
        (lambda: quantize_codes(torch.ones(3, dtype=torch.int8), torch.ones(3), 4, 0), TypeError, "x"),
        (lambda: quantize_codes(torch.ones(3), torch.ones(3), 4, 1), ValueError, "dim"),
        (lambda: quantize_codes(torch.ones(()), torch.ones(1), 4, 0), ValueError, "x"),
        (lambda: dequantize(torch.ones(3), torch.ones(3), 0), TypeError, "codes"),
        (lambda: dequantize(torch.ones(3, dtype=torch.int8), torch.ones(3, dtype=torch.int32), 0), TypeError, "scales"),
        (lambda: dequantize(torch.ones(2, 3, dtype=torch.int8), torch.ones(3), 0), ValueError, "scales"),
        (lambda: dequantize(torch.ones(2, 3, dtype=torch.int8), torch.ones(3), 2.0), TypeError, "dim"),
    ],
)
def test_grid_rejects_bad_arguments(call, exc, name):
    with pytest.raises(exc, match=f"^{name}:") as e:
        call()
    assert_names(e.value, name)


# --- the factorized linear layer -------------------------------------------------------------------------


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("identity", [False, True])
@pytest.mark.parametrize("s", [1, 3, 16])  # 16 = k: Z dense
def test_matches_the_materialised_weight(s, identity, with_bias, backend, gen):
    n, k, d, b = 70, 16, 16 if identity else 50, 37  # n, b ragged against the Triton tiles (32 x 64)
    f = factors(n, k, d, s, identity=identity, seed=s)
    x = torch.randn(b, d, generator=gen)
    bias = torch.randn(n, generator=gen) if with_bias else None
    out = factorized_linear(x, **f, bias=bias)
    assert out.shape == (b, n) and out.dtype == torch.float32
    assert_within(out, reference(x, f, bias), bound(x, f, bias))
    z, c = dense64(f, d)
    assert_within(factorized_weight(**f, **columns(f, d)), z @ c, (k + 2) * U * (z.abs() @ c.abs()))


def test_one_scale_per_row_of_z_known_answer(backend):
    """A hand-computed layer: row i of Z on row i's scale (one per output), whichever columns it uses. Every
    value is a small dyadic rational, so every path is exact."""
    z_index = torch.tensor([[0, 2], [1, 0]])
    z_code = torch.tensor([[0, 1], [-1, 2]], dtype=torch.int8)
    z_scale = torch.tensor([2.0, 10.0])  # row 0: 2 * (0.5, 1.5) at columns 0, 2; row 1: 10 * (-0.5, 2.5) at 1, 0
    z = torch.tensor([[1.0, 0.0, 3.0], [25.0, -5.0, 0.0]])
    zf = dict(z_index=z_index, z_code=z_code, z_scale=z_scale)
    assert torch.equal(factorized_weight(**zf, c_code=None, c_scale=None, columns=3), z)
    x = torch.tensor([[1.0, 2.0, 4.0], [-0.5, 0.25, 8.0]])
    assert torch.equal(factorized_linear(x, **zf, c_code=None, c_scale=None), x @ z.T)
    c_code = torch.tensor([[0, -1], [1, 2], [-2, 0]], dtype=torch.int8)
    c_scale = torch.tensor([4.0, 1.0, 0.5])
    c = torch.tensor([[2.0, -2.0], [1.5, 2.5], [-0.75, 0.25]])  # row r: c_scale[r] * (c_code[r] + 0.5)
    w = torch.tensor([[-0.25, -1.25], [42.5, -62.5]])  # z @ c, by hand
    assert torch.equal(z @ c, w)
    assert torch.equal(factorized_weight(**zf, c_code=c_code, c_scale=c_scale), w)
    assert torch.equal(factorized_weight(**zf, c_code=c_code, c_scale=c_scale, columns=3), w)  # columns = k
    bias = torch.tensor([0.5, -1.0])
    assert torch.equal(factorized_linear(x[:, :2], **zf, c_code=c_code, c_scale=c_scale, bias=bias),
                       x[:, :2] @ w.T + bias)


@pytest.mark.parametrize(
    "c,columns,exc",
    [
        (False, None, ValueError),  # C = I: nothing else gives k = d
        (False, -1, ValueError),
        (False, 3.0, TypeError),
        (False, True, TypeError),
        (False, torch.tensor(3), TypeError),
        (True, 4, ValueError),  # c_code gives k = 3
        (True, 3.0, TypeError),
    ],
)
def test_factorized_weight_columns(c, columns, exc):
    f = factors(4, 3, 5, 2, identity=not c)
    with pytest.raises(exc, match="^columns:") as e:
        factorized_weight(**f, columns=columns)
    assert_names(e.value, "columns")


@pytest.mark.parametrize("lead", [(), (0,), (2, 3), (1, 4, 2)])
def test_leading_batch_dims(lead, backend, gen):
    f = factors(9, 6, 11, 2, bits=3)
    x = torch.randn(*lead, 11, generator=gen)
    bias = torch.randn(9, generator=gen)
    out = factorized_linear(x, **f, bias=bias)
    assert out.shape == (*lead, 9)
    flat = factorized_linear(x.reshape(-1, 11), **f, bias=bias)
    assert torch.equal(out.reshape(-1, 9), flat)
    assert_within(flat, reference(x.reshape(-1, 11), f, bias), bound(x.reshape(-1, 11), f, bias))


def test_empty_factors_give_the_bias(backend, gen):
    f = factors(5, 4, 3, 0)  # s = 0: Z = 0
    x, bias = torch.randn(2, 3, generator=gen), torch.randn(5, generator=gen)
    assert torch.equal(factorized_linear(x, **f, bias=bias), bias.expand(2, 5))
    assert factorized_linear(x, **factors(0, 4, 3, 2)).shape == (2, 0)


def test_inputs_are_cast_and_index_order_does_not_matter(backend, gen):
    f = factors(20, 8, 12, 4, bits=8)
    x = torch.randn(6, 12, generator=gen, dtype=torch.float64)
    out = factorized_linear(x, **f)
    assert out.dtype == torch.float32
    flipped = dict(f, z_index=f["z_index"].flip(1).to(torch.int32), z_code=f["z_code"].flip(1),
                   z_scale=f["z_scale"].double())
    assert_within(factorized_linear(x, **flipped), out, 2 * bound(x.float(), f, None))


def test_triton_interpreter_matches_the_torch_path(gen):
    why = interpreter_runs()
    if why:
        pytest.skip(why)
    f = factors(100, 64, 33, 8, seed=3)  # several (32 x 64) tiles, ragged in both directions
    x, bias = torch.randn(130, 33, generator=gen), torch.randn(100, generator=gen)
    t = on("torch", lambda: factorized_linear(x, **f, bias=bias))
    tr = on("triton", lambda: factorized_linear(x, **f, bias=bias))
    # each within (d + s + 3) u M of the exact value (the module docstring): twice that apart at most
    assert_within(tr, t, bound(x, f, bias))


@st.composite
def layers(draw):
    """``(x, factors, bias)``: small layers of any shape, codes of any width, floats without subnormals."""
    n, k = draw(st.integers(0, 6)), draw(st.integers(1, 6))
    s = draw(st.integers(0, k))
    identity = draw(st.booleans())
    d = k if identity else draw(st.integers(1, 6))
    f = factors(n, k, d, s, bits=draw(st.integers(1, 8)), identity=identity, seed=draw(st.integers(0, 2**16)))
    f["z_scale"] = torch.tensor(draw(st.lists(floats(2**-10, 1e3, width=32), min_size=n, max_size=n)),
                                dtype=torch.float32)  # one per row of Z
    if not identity:
        scale = st.one_of(st.just(0.0), floats(2**-10, 1e3, width=32), floats(-1e3, -(2**-10), width=32))
        f["c_scale"] = torch.tensor(draw(st.lists(scale, min_size=k, max_size=k)))  # any sign, or 0
    b = draw(st.integers(0, 5))
    x = torch.tensor(draw(st.lists(floats(-1e3, 1e3, width=32), min_size=b * d, max_size=b * d)),
                     dtype=torch.float32).reshape(b, d)
    bias = (torch.tensor(draw(st.lists(floats(-1e3, 1e3, width=32), min_size=n, max_size=n)), dtype=torch.float32)
            if draw(st.booleans()) else None)
    return x, f, bias


@HANG
@settings(max_examples=30, deadline=None)
@given(layers())
def test_op_property_on_every_path(layer):
    x, f, bias = layer
    z, c = dense64(f, x.shape[1])
    exact = x.double() @ (z @ c).T + (0 if bias is None else bias.double())
    tol = bound(x, f, bias)
    ref = reference(x, f, bias)
    assert_within(ref, exact, tol)
    paths = ["torch"] + ([] if interpreter_runs() else ["triton"])
    for p in paths:
        out = on(p, lambda: factorized_linear(x, **f, bias=bias))
        assert out.shape == (x.shape[0], f["z_index"].shape[0])
        assert_within(out, exact, tol)


@HANG
@FAST
@given(k=st.integers(1, 5), n=st.integers(1, 4), s=st.integers(1, 4), data=st.data())
def test_arbitrary_indices_give_the_result_or_name_z_index(k, n, s, data):
    """Any integers as indices: the reference result when in range and distinct per row, else an error naming
    z_index (never an out-of-bounds read or a hang)."""
    raw = data.draw(st.lists(st.integers(-2, k + 1), min_size=n * s, max_size=n * s))
    idx = torch.tensor(raw, dtype=torch.int64).reshape(n, s)
    f = factors(n, k, 3, 0)
    f.update(z_index=idx, z_code=torch.zeros(n, s, dtype=torch.int8))
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    ok = bool(((idx >= 0) & (idx < k)).all()) and all(len(set(r)) == s for r in idx.tolist())
    for p in ["torch"] + ([] if interpreter_runs() else ["triton"]):
        out = named_error(lambda: on(p, lambda: factorized_linear(x, **f)), {"z_index"})
        assert (out is not None) == ok
        if ok:
            assert_within(out, reference(x, f, None), bound(x, f, None))


def _bad(change):
    """Valid arguments (n=4, s=2, k=3, d=5) with ``change`` applied: a dict update, or a function of it."""
    f = factors(4, 3, 5, 2)
    args = dict(x=torch.randn(2, 5), **f, bias=torch.zeros(4))
    args.update(change(args) if callable(change) else change)
    return args


NAN = float("nan")


@pytest.mark.parametrize(
    "change,exc,name",
    [
        (dict(x=[[1.0] * 5]), TypeError, "x"),
        (dict(x=torch.ones(2, 5, dtype=torch.int32)), TypeError, "x"),
        (dict(x=torch.ones(2, 4)), ValueError, "x"),
        (dict(x=torch.ones(())), ValueError, "x"),
        (dict(x=torch.tensor([[1.0, NAN, 0, 0, 0]])), ValueError, "x"),
        (dict(x=torch.tensor([[1.0, float("inf"), 0, 0, 0]])), ValueError, "x"),
        (dict(z_index=torch.tensor([[0, 1]] * 4, dtype=torch.float32)), TypeError, "z_index"),
        (dict(z_index=torch.tensor([0, 1, 2, 0])), ValueError, "z_index"),
        (dict(z_index=torch.tensor([[0, 1], [1, 2], [2, 3], [0, 1]])), ValueError, "z_index"),
        (dict(z_index=torch.tensor([[0, 1], [1, 2], [-1, 0], [0, 1]])), ValueError, "z_index"),
        (dict(z_index=torch.tensor([[0, 1], [1, 1], [2, 0], [0, 1]])), ValueError, "z_index"),
        (lambda a: dict(z_index=torch.tensor([[0, 1, 2, 0]] * 4), z_code=torch.zeros(4, 4, dtype=torch.int8)),
         ValueError, "z_index"),  # s = 4 > k = 3
        (lambda a: dict(z_index=torch.tensor([[0, 1, 0]] * 4), z_code=torch.zeros(4, 3, dtype=torch.int8)),
         ValueError, "z_index"),  # a repeat that is not adjacent in the row
        (lambda a: dict(z_code=a["z_code"].to(torch.int32)), TypeError, "z_code"),
        (lambda a: dict(z_code=a["z_code"][:, :1]), ValueError, "z_code"),
        (lambda a: dict(z_scale=a["z_scale"].to(torch.int64)), TypeError, "z_scale"),
        (lambda a: dict(z_scale=a["z_scale"][None]), ValueError, "z_scale"),
        (lambda a: dict(z_scale=torch.ones(3)), ValueError, "z_scale"),  # one per column (k), not per row (n)
        (lambda a: dict(z_scale=torch.ones(5)), ValueError, "z_scale"),
        (lambda a: dict(z_scale=torch.tensor([1.0, NAN, 1.0, 1.0])), ValueError, "z_scale"),
        (lambda a: dict(c_code=a["c_code"].float()), TypeError, "c_code"),
        (lambda a: dict(c_code=a["c_code"][0]), ValueError, "c_code"),
        (lambda a: dict(c_code=a["c_code"][:2]), ValueError, "c_scale"),  # k = 2 rows, 3 scales
        (lambda a: dict(c_code=a["c_code"][:2], c_scale=a["c_scale"][:2], z_index=torch.tensor([[0, 2]] * 4)),
         ValueError, "z_index"),  # k = c_code.shape[0] = 2: column 2 is out of range
        (lambda a: dict(c_scale=None), TypeError, "c_scale"),
        (lambda a: dict(c_scale=a["c_scale"][:2]), ValueError, "c_scale"),
        (lambda a: dict(c_scale=torch.tensor([1.0, 1.0, float("inf")])), ValueError, "c_scale"),
        (lambda a: dict(c_code=None), ValueError, "c_scale"),  # C = I takes no scales
        (lambda a: dict(c_code=None, c_scale=None, x=torch.ones(2, 2), z_index=torch.tensor([[0, 2]] * 4)),
         ValueError, "z_index"),  # C = I: k = d = 2 (x's width), column 2 is out of range
        (lambda a: dict(c_code=None, c_scale=None, x=torch.ones(2, 1)), ValueError, "z_index"),  # s = 2 > k = 1
        (dict(bias=torch.zeros(5)), ValueError, "bias"),
        (dict(bias=torch.zeros(4, dtype=torch.int64)), TypeError, "bias"),
        (dict(bias=torch.tensor([0.0, 0.0, NAN, 0.0])), ValueError, "bias"),
    ],
)
def test_bad_inputs_name_the_argument(change, exc, name, backend):
    args = _bad(change)
    with pytest.raises(exc, match=name) as e:
        factorized_linear(**args)
    assert_names(e.value, name)
    if name not in ("x", "bias"):  # the same checks guard the reference (given C = I's width as x does)
        factors_only = {a: v for a, v in args.items() if a not in ("x", "bias")}
        with pytest.raises(exc, match=name):
            factorized_weight(**factors_only, **columns(factors_only, args["x"].shape[-1]))


def test_gradients_flow_on_the_torch_path_and_triton_refuses_them(monkeypatch, gen):
    f = factors(6, 4, 5, 2)
    x = torch.randn(3, 5, generator=gen, requires_grad=True)
    monkeypatch.delenv("WORKBENCH_KERNELS", raising=False)
    factorized_linear(x, **f).sum().backward()
    assert torch.allclose(x.grad, factorized_weight(**f).sum(0).expand(3, 5), rtol=1e-5, atol=1e-6)
    if interpreter_runs() is None:
        monkeypatch.setenv("WORKBENCH_KERNELS", "triton")
        with pytest.raises(RuntimeError, match="factorized_linear with autograd"):
            factorized_linear(x, **f)
        with torch.no_grad():
            assert factorized_linear(x, **f).shape == (3, 6)
