"""The LIF time loop (``kernels.lif``) against the naive loop differentiated by autograd (``kernels.reference``).

Each test runs on the PyTorch path and on the Triton kernels (interpreted on CPU), through the ``backend``
fixture. ``gradcheck`` is meaningless through a Heaviside (its derivative is replaced by a surrogate on purpose),
so the backward is checked against autograd through ``lif_reference`` (which differentiates the same surrogate)
and against known answers: the leaky integral when no neuron fires, and a 1-neuron, 3-step example with a spike
and its reset, computed by hand.

Tolerances. Both sides compute the same forward float operations in the same order (the membranes agree to the
bit in practice); the gradients are sums over time steps and the batch taken in different orders, so they are
compared within ``TOL`` (1e-5 in float32, 1e-12 in float64) of a scale: for the gradient of the current, the
largest entry of the reference's; for ``beta`` / ``threshold``, the sum of the magnitudes of the reference's
per-(sequence, neuron) gradients that are summed into each entry (the reference run once more with ``beta``,
``threshold`` of shape ``(B, H)``), a bound on the size of the terms whatever the order of the sum.
"""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import floats, named_error
from kernels import SURROGATES, lif
from kernels.lif import surrogate_derivative
from kernels.reference import lif_reference

TOL = {torch.float32: 1e-5, torch.float64: 1e-12}
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HANG = pytest.mark.timeout(120)
B, T, H = 4, 12, 8
# (beta shape, threshold shape): per neuron, scalar, one-element, mixed
SHAPES = [((H,), (H,)), ((), ()), ((1,), (H,)), ((H,), ())]
UPSTREAM = ["spikes", "membrane", "both"]


def inputs(dtype=torch.float32, beta_shape=(H,), threshold_shape=(H,), seed=0, b=B, t=T, h=H):
    """A current around the threshold (so about a third of the steps spike), beta in [0.3, 0.9], threshold
    in [0.5, 1.5]; and random upstream gradients for both outputs."""
    g = torch.Generator().manual_seed(seed)
    current = (1.6 * torch.randn(b, t, h, generator=g, dtype=torch.float64) + 0.8).to(dtype)
    beta = (0.3 + 0.6 * torch.rand(beta_shape, generator=g, dtype=torch.float64)).to(dtype)
    threshold = (0.5 + torch.rand(threshold_shape, generator=g, dtype=torch.float64)).to(dtype)
    grads = [torch.randn(b, t, h, generator=g, dtype=torch.float64).to(dtype) for _ in range(2)]
    return current, beta, threshold, grads


def run(fn, current, beta, threshold, grads, upstream, **kw):
    """``(spikes, membrane, grad current, grad beta, grad threshold)`` of ``fn`` with upstream gradients on
    ``upstream`` (``"spikes"``, ``"membrane"`` or ``"both"``)."""
    c, b, th = (x.detach().clone().requires_grad_() for x in (current, beta, threshold))
    spikes, membrane = fn(c, b, th, **kw)
    outs = {"spikes": [spikes], "membrane": [membrane], "both": [spikes, membrane]}[upstream]
    ups = {"spikes": grads[:1], "membrane": grads[1:], "both": grads}[upstream]
    torch.autograd.backward(outs, ups)
    return spikes.detach(), membrane.detach(), c.grad, b.grad, th.grad


def term_scale(current, beta, threshold, grads, upstream, shape, which, **kw):
    """Sum of the magnitudes of the reference's per-(sequence, neuron) gradients of ``beta`` (``which=3``) or
    ``threshold`` (``4``) that make up a gradient of ``shape``."""
    b, _, h = current.shape
    full = [x.detach().reshape(-1).expand(h).expand(b, h).clone() for x in (beta, threshold)]
    per_column = run(lif_reference, current, *full, grads, upstream, **kw)[which].abs()
    return per_column.sum(0).sum_to_size(shape)


def assert_grad_close(got, want, scale, dtype):
    assert got is not None and got.shape == want.shape and got.dtype == want.dtype
    assert bool(((got - want).abs() <= TOL[dtype] * scale).all()), (got, want, scale)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("beta_shape,threshold_shape", SHAPES)
def test_forward_matches_the_reference(dtype, beta_shape, threshold_shape, backend):
    current, beta, threshold, _ = inputs(dtype, beta_shape, threshold_shape, seed=1)
    spikes, membrane = lif(current, beta, threshold)
    want_s, want_v = lif_reference(current, beta, threshold)
    assert spikes.shape == membrane.shape == (B, T, H) and spikes.dtype == membrane.dtype == dtype
    assert 0.1 < float(want_s.mean()) < 0.9  # the example exercises spikes and resets
    assert torch.equal(spikes, want_s)
    torch.testing.assert_close(membrane, want_v, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("upstream", UPSTREAM)
@pytest.mark.parametrize("surrogate", SURROGATES)
@pytest.mark.parametrize("beta_shape,threshold_shape", SHAPES)
def test_gradients_match_autograd_through_the_reference(dtype, upstream, surrogate, beta_shape, threshold_shape,
                                                        backend):
    current, beta, threshold, grads = inputs(dtype, beta_shape, threshold_shape, seed=2)
    kw = dict(surrogate=surrogate, slope=5.0)
    got = run(lif, current, beta, threshold, grads, upstream, **kw)
    want = run(lif_reference, current, beta, threshold, grads, upstream, **kw)
    assert torch.equal(got[0], want[0])
    assert_grad_close(got[2], want[2], want[2].abs().max(), dtype)
    for which, shape in ((3, beta_shape), (4, threshold_shape)):
        scale = term_scale(current, beta, threshold, grads, upstream, shape, which, **kw)
        assert_grad_close(got[which], want[which], scale, dtype)
    assert float(want[3].abs().sum()) > 0 and float(want[4].abs().sum()) > 0


@pytest.mark.parametrize("surrogate", SURROGATES)
def test_gradient_of_one_output_leaves_the_others_alone(surrogate, backend):
    """Only the current requires grad; the backward of ``spikes.sum()`` alone (no gradient on the membrane)."""
    current, beta, threshold, _ = inputs(torch.float64, seed=3)
    c = current.clone().requires_grad_()
    lif(c, beta, threshold, surrogate=surrogate)[0].sum().backward()
    c2 = current.clone().requires_grad_()
    lif_reference(c2, beta, threshold, surrogate=surrogate)[0].sum().backward()
    torch.testing.assert_close(c.grad, c2.grad, rtol=1e-12, atol=1e-12 * float(c2.grad.abs().max()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_spike_is_the_leaky_integral(dtype, backend):
    """Threshold far above the current: no spike, ``v_t = (1 - beta) sum_k beta^(t-k) I_k``; the surrogate is
    0 there, so the gradients are those of that linear map: ``dI_k = (1 - beta) sum_{t>=k} beta^(t-k) gv_t``."""
    current, beta, _, grads = inputs(dtype, seed=4)
    threshold = torch.full((H,), 1e4, dtype=dtype)
    got = run(lif, current, beta, threshold, grads, "both", surrogate="sigmoid", slope=10.0)
    assert not got[0].any()
    i64, b64, gv = current.double(), beta.double(), grads[1].double()
    t = torch.arange(T, dtype=torch.float64)
    powers = torch.where(t[:, None] >= t[None, :], (t[:, None] - t[None, :]), torch.inf)  # (t, k): t - k
    decay = b64[:, None, None] ** powers[None]  # (H, t, k): beta^(t-k) for k <= t, 0 above
    v = (1 - b64) * torch.einsum("htk,bkh->bth", decay, i64)
    torch.testing.assert_close(got[1].double(), v, rtol=10 * TOL[dtype], atol=10 * TOL[dtype])
    grad_current = (1 - b64) * torch.einsum("htk,bth->bkh", decay, gv)
    torch.testing.assert_close(got[2].double(), grad_current, rtol=10 * TOL[dtype], atol=10 * TOL[dtype])
    assert float(got[4].abs().max()) == 0.0  # the threshold enters only through spikes and their surrogate


def hand_example(dtype):
    """beta = 0.5, threshold = 1, I = (3, 2, 0): v = (1.5, 1.25, 0.125), spikes (1, 1, 0), exact in binary."""
    return (torch.tensor([[[3.0], [2.0], [0.0]]], dtype=dtype), torch.tensor(0.5, dtype=dtype),
            torch.tensor([1.0], dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_hand_computed_spike_and_reset(dtype, backend):
    """``v0 = 0.5 * 3 = 1.5 > 1``: spike; ``v1 = 0.5 (1.5 - 1) + 0.5 * 2 = 1.25``: spike;
    ``v2 = 0.5 (1.25 - 1) + 0 = 0.125``. Backward of ``L = v2`` with ``g(x) = 1 / (1 + |x|)^2`` (fast sigmoid,
    slope 1): ``g0 = g(0.5) = 4/9``, ``g1 = g(0.25) = 0.64``; adjoints ``A2 = 1``,
    ``A1 = 0.5 (1 - g1) A2 = 0.18``, ``A0 = 0.5 (1 - g0) A1 = 0.05``, so ``dI = 0.5 A = (0.025, 0.09, 0.5)``;
    ``dbeta = sum_t A_t (u_{t-1} - I_t) = 0.05 (0 - 3) + 0.18 (0.5 - 2) + 1 (0.25 - 0) = -0.17`` (``u`` the
    membrane after reset); ``dthreshold = sum_t beta A_{t+1} (g_t - s_t) = 0.5 (0.18 (4/9 - 1) + (0.64 - 1))
    = -0.23``."""
    current, beta, threshold = hand_example(dtype)
    c, b, th = (x.clone().requires_grad_() for x in (current, beta, threshold))
    spikes, membrane = lif(c, b, th, surrogate="fast_sigmoid", slope=1.0)
    assert spikes.flatten().tolist() == [1.0, 1.0, 0.0]
    assert membrane.flatten().tolist() == [1.5, 1.25, 0.125]
    membrane[0, 2, 0].backward()
    tol = 10 * TOL[dtype]
    assert c.grad.flatten().tolist() == pytest.approx([0.025, 0.09, 0.5], rel=tol, abs=tol)
    assert b.grad.shape == () and float(b.grad) == pytest.approx(-0.17, rel=tol, abs=tol)
    assert th.grad.shape == (1,) and float(th.grad) == pytest.approx(-0.23, rel=tol, abs=tol)
    # L = s1: A1 = g1 = 0.64, A0 = 0.5 (1 - 4/9) 0.64 = 8/45, dI = 0.5 A = (4/45, 0.32, 0)
    c2 = current.clone().requires_grad_()
    lif(c2, beta, threshold, surrogate="fast_sigmoid", slope=1.0)[0][0, 1, 0].backward()
    assert c2.grad.flatten().tolist() == pytest.approx([4 / 45, 0.32, 0.0], rel=tol, abs=tol)


@pytest.mark.parametrize("surrogate,at_zero", [("sigmoid", 10.0 / 4), ("fast_sigmoid", 1.0), ("arctan", 10.0 / 2)])
def test_surrogates_known_values(surrogate, at_zero, backend):
    """``g(0)``: slope/4, 1, slope/2; the formulas of the docstring at a few points; no NaN far out. Through the
    op: one step, ``dv0/dI0 = 1 - beta``, so ``ds0/dI0 = (1 - beta) g(v0 - threshold)``."""
    x = torch.tensor([0.0, -0.3, 0.05, 2.0, -1e4, 1e4], dtype=torch.float64)
    a = 10.0
    want = {"sigmoid": a * torch.sigmoid(a * x) * torch.sigmoid(-a * x),
            "fast_sigmoid": 1 / (1 + a * x.abs()) ** 2,
            "arctan": (a / 2) / (1 + (math.pi / 2 * a * x) ** 2)}[surrogate]
    got = surrogate_derivative(x, surrogate, a)
    assert float(got[0]) == pytest.approx(at_zero, rel=1e-15)
    torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-300)
    beta, threshold = torch.tensor(0.25, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64)
    current = ((x[:4] + threshold) / (1 - beta)).reshape(1, 1, 4)  # v0 - threshold = x
    c = current.clone().requires_grad_()
    lif(c, beta, threshold, surrogate=surrogate, slope=a)[0].sum().backward()
    torch.testing.assert_close(c.grad.flatten(), 0.75 * want[:4], rtol=1e-12, atol=0)


@pytest.mark.parametrize("shape", [(3, 0, 5), (0, 4, 5), (3, 4, 0), (0, 0, 0)])
def test_empty_inputs(shape, backend):
    current = torch.zeros(shape, requires_grad=True)
    h = shape[2]
    beta, threshold = torch.full((h,), 0.5, requires_grad=True), torch.ones((), requires_grad=True)
    spikes, membrane = lif(current, beta, threshold)
    assert spikes.shape == membrane.shape == shape
    (spikes.sum() + membrane.sum()).backward()
    assert current.grad.shape == shape and beta.grad.shape == (h,) and threshold.grad.shape == ()
    assert not current.grad.any() and not beta.grad.any() and float(threshold.grad) == 0.0


def test_non_contiguous_current_and_no_grad(backend):
    current, beta, threshold, _ = inputs(seed=5)
    transposed = current.transpose(0, 2).contiguous().transpose(0, 2)  # same values, other strides
    assert not transposed.is_contiguous()
    spikes, membrane = lif(transposed, beta, threshold)
    assert torch.equal(spikes, lif(current, beta, threshold)[0])
    assert spikes.grad_fn is None and membrane.grad_fn is None  # nothing requires grad
    with torch.no_grad():
        s2, _ = lif(current.requires_grad_(), beta, threshold)
    assert s2.grad_fn is None and torch.equal(s2, spikes)


@pytest.mark.parametrize("args,kwargs,error,head", [
    (([1.0],), {}, TypeError, "current"),
    ((torch.zeros(2, 3, 4, dtype=torch.float16),), {}, TypeError, "current"),
    ((torch.zeros(2, 3, 4, dtype=torch.int64),), {}, TypeError, "current"),
    ((torch.zeros(3, 4),), {}, ValueError, "current"),
    ((torch.zeros(1, 2, 3, 4),), {}, ValueError, "current"),
    ((torch.full((2, 3, 4), math.nan),), {}, ValueError, "current: contains NaN"),
    ((torch.full((2, 3, 4), math.inf),), {}, ValueError, "current: contains Inf"),
    ((torch.zeros(2, 3, 4), 0.5), {}, TypeError, "beta"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5, dtype=torch.float64)), {}, TypeError, "beta"),
    ((torch.zeros(2, 3, 4), torch.zeros(3)), {}, ValueError, "beta"),
    ((torch.zeros(2, 3, 4), torch.zeros(1, 4)), {}, ValueError, "beta"),
    ((torch.zeros(2, 3, 4), torch.tensor(math.nan)), {}, ValueError, "beta: contains NaN"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5), torch.zeros(5)), {}, ValueError, "threshold"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5), torch.tensor(-math.inf)), {}, ValueError, "threshold: contains Inf"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5), 1.0), {}, TypeError, "threshold"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5), torch.tensor(1.0)), {"surrogate": "relu"}, ValueError, "surrogate"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5), torch.tensor(1.0)), {"surrogate": 1}, TypeError, "surrogate"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5), torch.tensor(1.0)), {"slope": 0.0}, ValueError, "slope"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5), torch.tensor(1.0)), {"slope": math.inf}, ValueError, "slope"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5), torch.tensor(1.0)), {"slope": "10"}, TypeError, "slope"),
    ((torch.zeros(2, 3, 4), torch.tensor(0.5), torch.tensor(1.0)), {"slope": True}, TypeError, "slope"),
])
def test_bad_arguments_raise_named_errors(args, kwargs, error, head):
    full = list(args) + [torch.tensor(0.5), torch.tensor(1.0)][len(args) - 1:]
    with pytest.raises(error, match=f"^{head}") as info:
        lif(*full, **kwargs)
    assert "expected" in str(info.value) or "contains" in str(info.value)


def test_shape_error_gives_expected_and_received():
    with pytest.raises(ValueError, match=r"^beta: expected shape \(\), \(1,\) or \(H,\) = \(4,\).*got \(3,\)"):
        lif(torch.zeros(2, 3, 4), torch.zeros(3), torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"^current: expected a 3-d tensor \(B, T, H\), got shape \(3, 4\)"):
        lif(torch.zeros(3, 4), torch.tensor(0.5), torch.tensor(1.0))


@st.composite
def lif_cases(draw, only_valid=False):
    """``(current, beta, threshold, surrogate, slope)``: valid cases, plus (unless ``only_valid``) bad ranks and
    shapes, NaN/Inf, unknown surrogates and bad slopes."""
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    ndim = 3 if only_valid else draw(st.sampled_from([3, 3, 3, 2]))
    shape = draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim))
    h = shape[-1]
    width = 32 if dtype == torch.float32 else 64
    finite = floats(-1e3, 1e3, width=width)
    values = floats(width=width) if not only_valid and draw(st.booleans()) else finite
    current = torch.tensor(draw(st.lists(values, min_size=math.prod(shape), max_size=math.prod(shape))),
                           dtype=torch.float64).reshape(shape).to(dtype)

    def parameter(lo, hi):
        pshape = draw(st.sampled_from([(), (1,), (h,)] + ([] if only_valid else [(h + 1,), (1, h)])))
        vals = draw(st.lists(floats(lo, hi, width=width), min_size=math.prod(pshape), max_size=math.prod(pshape)))
        return torch.tensor(vals, dtype=torch.float64).reshape(pshape).to(dtype)

    beta, threshold = parameter(0.0, 1.0), parameter(-2.0, 2.0)
    surrogate = draw(st.sampled_from(SURROGATES + (() if only_valid else ("heaviside",))))
    slope = draw(floats(1e-3, 1e3) if only_valid else st.one_of(floats(1e-3, 1e3), floats()))
    return current, beta, threshold, surrogate, slope


def valid_case(current, beta, threshold, surrogate, slope):
    h = current.shape[-1] if current.dim() else 0
    return (current.dim() == 3 and bool(torch.isfinite(current).all()) and surrogate in SURROGATES
            and math.isfinite(slope) and slope > 0
            and all(p.dim() <= 1 and p.numel() in (1, h) for p in (beta, threshold)))


@HANG
@FAST
@given(case=lif_cases())
def test_spikes_are_the_membrane_above_threshold(case, backend):
    """Valid input: 0/1 spikes exactly where ``v > threshold``, shapes and dtypes of ``current``, the reference's
    spikes; anything else: an error naming the bad argument."""
    current, beta, threshold, surrogate, slope = case
    out = named_error(lambda: lif(current, beta, threshold, surrogate=surrogate, slope=slope),
                      {"current", "beta", "threshold", "surrogate", "slope"})
    assert (out is None) == (not valid_case(*case))
    if out is None:
        return
    spikes, membrane = out
    assert spikes.shape == membrane.shape == current.shape and spikes.dtype == membrane.dtype == current.dtype
    assert bool(((spikes == 0) | (spikes == 1)).all())
    h = current.shape[-1]
    assert torch.equal(spikes.bool(), membrane > threshold.reshape(-1).expand(h))
    want_s, want_v = lif_reference(current, beta, threshold)
    assert torch.equal(spikes, want_s)
    tol = TOL[current.dtype] * 1e3  # |v| <= 1e3 + |threshold|, a few roundings a step
    torch.testing.assert_close(membrane, want_v, rtol=0, atol=tol)


@HANG
@FAST
@given(case=lif_cases(only_valid=True), upstream=st.sampled_from(UPSTREAM))
def test_gradients_are_finite_and_shaped(case, upstream, backend):
    current, beta, threshold, surrogate, slope = case
    g = torch.Generator().manual_seed(0)
    grads = [torch.randn(current.shape, generator=g, dtype=torch.float64).to(current.dtype) for _ in range(2)]
    out = run(lif, current, beta, threshold, grads, upstream, surrogate=surrogate, slope=slope)
    for grad, like in zip(out[2:], (current, beta, threshold)):
        assert grad.shape == like.shape and grad.dtype == like.dtype and bool(torch.isfinite(grad).all())
