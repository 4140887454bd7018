"""Finite-difference image derivatives (``kernels.image_gradients``): known answers, ramps, shapes, gradients, the
Triton path (interpreted on CPU) against the PyTorch path, properties, and bad input.

Most tests run on both paths through the ``backend`` fixture (``tests/kernels/conftest.py``); the Triton kernel is
float32/float16/bfloat16 only (computed in float32), so float64 runs skip it, and a tensor that needs a gradient
always takes the PyTorch path (``gradcheck`` checks it).

Tolerances. Each output is a sum of at most nine products ``w I`` of weights ``w`` in ``{±1/2}`` (central) or
``{±1/8, ±1/4}`` (Sobel, zeros included on the ``conv2d`` path): the products are exact (powers of two), and a sum
of ``n`` terms in any order is within ``(n - 1) u S`` of the exact value (Higham, Accuracy and Stability of
Numerical Algorithms, 3.1), ``S = sum |w| |I|`` over the pixel's neighbourhood (computed by :func:`term_scale`, in
float64) and ``u`` the unit roundoff of the dtype (``2^-24`` float32, ``2^-53`` float64). So each path is within
``8 u S`` of the exact result and two paths within ``16 u S``: we allow ``16 u S``. (Measured: about ``4 u S`` for
Sobel on float32 ``conv2d``.) A wrong tap or weight changes an output by a whole term, ``~ S / 8``, far outside.
``16 tiny`` (``tiny`` the smallest normal number) more covers products that underflow: a product rounded to a
subnormal, or flushed to zero (the process may run in flush-to-zero mode, see ``tests/strategies.py``), loses less
than ``tiny``, and there are at most nine. Known-answer and ramp images use small dyadic values, whose sums are
exact in any order: those are compared exactly.
"""

import os

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kernels.test_bench import bench_json
from tests.strategies import floats, named_error
from kernels import _triton, image_gradients
from kernels.image_gradients import GRADIENT_KINDS, gradient_stencils
from kernels.reference import image_gradients_reference

U = {torch.float32: 2.0**-24, torch.float64: 2.0**-53}
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HANG = pytest.mark.timeout(120)

# the stencils written out (cross-correlation: row = y offset -1, 0, 1; column = x offset -1, 0, 1), independent of
# kernels.image_gradients.gradient_stencils
SOBEL_X = [[-1 / 8, 0, 1 / 8], [-2 / 8, 0, 2 / 8], [-1 / 8, 0, 1 / 8]]
CENTRAL_X = [[0, 0, 0], [-1 / 2, 0, 1 / 2], [0, 0, 0]]
STENCIL_X = {"sobel": SOBEL_X, "central": CENTRAL_X}


def interpreter_runs() -> str | None:
    """Why the Triton path cannot run on CPU tensors in this process, or ``None``."""
    if not _triton.available():
        return "triton is not installed"
    if os.environ.get("TRITON_INTERPRET") != "1":
        return "Triton is compiled for the GPU in this run; test_cuda.py checks it on CUDA tensors"
    return None


def on(backend, fn):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_KERNELS", backend)
        return fn()


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request, backend):
    if backend == "triton" and request.param == torch.float64:
        pytest.skip("no float64 Triton kernel (the PyTorch path covers it)")
    return request.param


def stencil_loop(image: torch.Tensor, kind: str) -> torch.Tensor:
    """The derivatives pixel by pixel in float64, neighbours at clamped indices (replicate padding): the oracle."""
    x = image.double().reshape(-1, *image.shape[-2:])
    p, h, w = x.shape
    out = torch.zeros(p, 2, h, w, dtype=torch.float64)
    sx = STENCIL_X[kind]
    for k in range(p):
        for i in range(h):
            for j in range(w):
                for a in range(3):
                    for b in range(3):
                        v = float(x[k, min(max(i + a - 1, 0), h - 1), min(max(j + b - 1, 0), w - 1)])
                        out[k, 0, i, j] += sx[a][b] * v
                        out[k, 1, i, j] += sx[b][a] * v  # the y stencil is the transposed x stencil
    return out.reshape(*image.shape[:-2], 2, h, w)


def term_scale(image: torch.Tensor, kind: str) -> torch.Tensor:
    """``S = sum |w| |I|`` over each output's neighbourhood, float64, shaped as the output."""
    h, w = image.shape[-2:]
    planes = F.pad(image.abs().double().reshape(-1, 1, h, w), (1, 1, 1, 1), mode="replicate")
    weights = gradient_stencils(kind, torch.float64).abs().unsqueeze(1)
    return F.conv2d(planes, weights).reshape(*image.shape[:-2], 2, h, w)


def assert_within(got, want, scale, dtype, factor=16):
    """``|got - want| <= factor u scale + 16 tiny`` (module docstring), entrywise."""
    tol = factor * U[dtype] * scale + 16 * torch.finfo(dtype).tiny
    err = (got.double() - want.double()).abs()
    assert got.shape == want.shape
    assert bool((err <= tol).all()), f"max error {float(err.max())}, max error / tol {float((err / tol).max())}"


# --- known answers ---------------------------------------------------------------------------------------------

HAND = [[1, 2, 4, 7, 11],
        [0, 3, 5, 2, 8],
        [6, 1, 9, 4, 3],
        [2, 7, 0, 5, 1]]
# (y, x): (sobel dx, sobel dy, central dx, central dy), worked out by hand (u = row above, m = same row, d = row below;
# l, c, r = column left, same, right; a neighbour outside the image is the nearest border pixel):
# * (2, 1), interior. Neighbourhood rows 1..3, columns 0..2:  u = 0 3 5 / m = 6 1 9 / d = 2 7 0.
#   sobel dx = ((5 - 0) + 2 (9 - 6) + (0 - 2)) / 8 = 9/8;  sobel dy = ((2 - 0) + 2 (7 - 3) + (0 - 5)) / 8 = 5/8;
#   central dx = (9 - 6) / 2 = 3/2;  central dy = (7 - 3) / 2 = 2.
# * (0, 4), the top-right corner. Rows -1 -> 0, 0, 1; columns 3, 4, 5 -> 4:  u = 7 11 11 / m = 7 11 11 / d = 2 8 8.
#   sobel dx = ((11 - 7) + 2 (11 - 7) + (8 - 2)) / 8 = 18/8;  sobel dy = ((2 - 7) + 2 (8 - 11) + (8 - 11)) / 8 = -14/8;
#   central dx = (11 - 7) / 2 = 2;  central dy = (8 - 11) / 2 = -3/2.
# * (3, 2), the bottom edge. Rows 2, 3, 4 -> 3; columns 1..3:  u = 1 9 4 / m = 7 0 5 / d = 7 0 5.
#   sobel dx = ((4 - 1) + 2 (5 - 7) + (5 - 7)) / 8 = -3/8;  sobel dy = ((7 - 1) + 2 (0 - 9) + (5 - 4)) / 8 = -11/8;
#   central dx = (5 - 7) / 2 = -1;  central dy = (0 - 9) / 2 = -9/2.
HAND_ANSWERS = {(2, 1): (9 / 8, 5 / 8, 3 / 2, 2.0), (0, 4): (18 / 8, -14 / 8, 2.0, -3 / 2),
                (3, 2): (-3 / 8, -11 / 8, -1.0, -9 / 2)}


@pytest.mark.parametrize("kind", GRADIENT_KINDS)
def test_hand_computed_values(kind, dtype, backend):
    image = torch.tensor(HAND, dtype=dtype)
    got = image_gradients(image, kind)
    assert got.shape == (2, 4, 5) and got.dtype == dtype
    offset = 0 if kind == "sobel" else 2
    for (y, x), answers in HAND_ANSWERS.items():
        assert (float(got[0, y, x]), float(got[1, y, x])) == answers[offset:offset + 2], (y, x)
    # every pixel: the pixel-by-pixel oracle and the default kind, exactly (small integers / 8: exact sums)
    assert torch.equal(got.double(), stencil_loop(image, kind))
    if kind == "sobel":
        assert torch.equal(image_gradients(image), got)


@pytest.mark.parametrize("kind", GRADIENT_KINDS)
@pytest.mark.parametrize("h,w", [(4, 5), (6, 3), (2, 2), (1, 5), (5, 1), (1, 1), (18, 70)])
def test_ramp_is_exact_inside_and_halved_at_the_border(kind, h, w, dtype, backend):
    """``I = a x + b y``: ``(a, b)`` away from the border; across the outermost column (row) the replicated pixel
    equals the border one, so the difference spans one pixel instead of two: ``a / 2`` (``b / 2``); with one
    column (row) both neighbours are the pixel itself: 0. Sobel smooths ``∂x`` along ``y``, where it is constant.
    Dyadic ``a, b`` and small sizes: every value and sum is exact."""
    a, b = 0.75, -2.5
    y, x = torch.meshgrid(torch.arange(h, dtype=dtype), torch.arange(w, dtype=dtype), indexing="ij")
    got = image_gradients(a * x + b * y, kind)
    want_x = torch.full((h, w), a, dtype=dtype)
    want_x[:, 0] = want_x[:, -1] = a / 2 if w > 1 else 0.0
    want_y = torch.full((h, w), b, dtype=dtype)
    want_y[0] = want_y[-1] = b / 2 if h > 1 else 0.0
    assert torch.equal(got, torch.stack([want_x, want_y]))


@pytest.mark.parametrize("shape", [(5, 6), (3, 5, 6), (2, 3, 5, 6), (1, 2, 1, 5, 6), (0, 5, 6), (2, 0, 3, 4)])
def test_shapes_each_plane_on_its_own(shape, backend):
    """``(H, W)``, ``(C, H, W)``, ``(N, C, H, W)`` and more leading dims -> ``(..., 2, H, W)``, each plane's
    derivatives those of the plane alone (``conv2d`` may pick another summation order for another batch size:
    ``16 u S``; the Triton kernel does the same operations for every plane: exact); empty batches give empty
    outputs."""
    image = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    got = image_gradients(image, "sobel")
    assert got.shape == (*shape[:-2], 2, *shape[-2:]) and got.dtype == image.dtype
    planes, outs = image.reshape(-1, *shape[-2:]), got.reshape(-1, 2, *shape[-2:])
    for plane, out in zip(planes, outs):
        alone = image_gradients(plane, "sobel")
        assert_within(out, alone, term_scale(plane, "sobel"), torch.float32)
        if backend == "triton":
            assert torch.equal(out, alone)


@pytest.mark.parametrize("kind", GRADIENT_KINDS)
def test_non_contiguous_input(kind, backend):
    image = torch.randn(3, 7, 9, generator=torch.Generator().manual_seed(2))
    view = image.transpose(-1, -2).contiguous().transpose(-1, -2)  # same values, other strides
    assert not view.is_contiguous()
    assert torch.equal(image_gradients(view, kind), image_gradients(image, kind))
    rows = image[:, ::2]  # every other row: a strided view
    assert torch.equal(image_gradients(rows, kind), image_gradients(rows.contiguous(), kind))


# --- gradients ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", GRADIENT_KINDS)
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (1, 1), (3, 1)])
def test_gradcheck(kind, shape):
    """The op is linear: autograd's backward of the PyTorch path against finite differences, float64."""
    image = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: image_gradients(t, kind), (image,))
    assert torch.autograd.gradgradcheck(lambda t: image_gradients(t, kind), (image,))


def test_a_gradient_takes_the_torch_path(monkeypatch):
    """Needing a gradient: ``auto`` takes the PyTorch path on any device; an explicit ``triton`` says why not."""
    image = torch.randn(4, 5, requires_grad=True)
    image_gradients(image).sum().backward()
    assert image.grad.shape == image.shape
    monkeypatch.setenv("WORKBENCH_KERNELS", "triton")
    with pytest.raises(RuntimeError, match="needing a gradient"):
        image_gradients(image)
    with torch.no_grad():  # no gradient recorded: the Triton path may run (or say why not, e.g. no interpreter)
        try:
            out = image_gradients(image)
        except RuntimeError as e:
            assert "needing a gradient" not in str(e)
        else:
            assert out.grad_fn is None


# --- the Triton path (interpreted) against the PyTorch path --------------------------------------------------


@pytest.mark.parametrize("kind", GRADIENT_KINDS)
@pytest.mark.parametrize("shape", [(3, 19, 70), (2, 17, 65), (16, 64), (2, 1, 33), (33, 1), (1, 7), (1, 1),
                                   (0, 4, 5)])
def test_triton_interpreter_matches_the_torch_path(kind, shape):
    """Float32; the tile is 16 x 64 pixels: ragged tiles in both directions, an exact one, one-pixel-wide images."""
    why = interpreter_runs()
    if why:
        pytest.skip(why)
    image = 10 * torch.randn(shape, generator=torch.Generator().manual_seed(4))
    want = on("torch", lambda: image_gradients(image, kind))
    got = on("triton", lambda: image_gradients(image, kind))
    assert got.dtype == torch.float32
    assert_within(got, want, term_scale(image, kind), torch.float32)


# --- properties --------------------------------------------------------------------------------------------------


@st.composite
def images(draw, max_side=9):
    """Float64 ``(..., H, W)`` images (up to two leading dims of size <= 2, ``1 <= H, W <= max_side``), entries
    in [-1e3, 1e3] exactly representable in float32."""
    lead = draw(st.lists(st.integers(1, 2), max_size=2))
    shape = (*lead, draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    n = 1
    for d in shape:
        n *= d
    values = draw(st.lists(floats(-1e3, 1e3, width=32), min_size=n, max_size=n))
    return torch.tensor(values, dtype=torch.float64).reshape(shape)


@HANG
@FAST
@given(image=images(), kind=st.sampled_from(GRADIENT_KINDS))
def test_matches_the_pixel_loop_and_the_reference(image, kind, dtype, backend):
    """Against the pixel-by-pixel oracle and the separable ``F.pad`` + slices reference (``kernels.reference``,
    within ``8 u S`` of exact as well: two differences and sums of three scaled by powers of two)."""
    image = image.to(dtype)
    got = image_gradients(image, kind)
    scale = term_scale(image, kind)
    assert got.dtype == dtype
    assert_within(got, stencil_loop(image, kind), scale, dtype, factor=8)
    assert_within(got, image_gradients_reference(image, kind), scale, dtype)


@HANG
@FAST
@given(i=images(), data=st.data(), a=floats(-4, 4, width=32), b=floats(-4, 4, width=32),
       kind=st.sampled_from(GRADIENT_KINDS))
def test_linearity(i, data, a, b, kind, dtype, backend):
    """``grad(a I + b J) = a grad(I) + b grad(J)``. With ``T = |a| S_I + |b| S_J``: forming ``a I + b J`` (two
    products, a sum) moves the exact gradient by ``<= 2 u T``, its gradient is within ``8 u T`` of that; each of
    ``grad I``, ``grad J`` within ``8 u S``, and ``a g_I + b g_J`` adds ``2 u T``: both sides within ``10 u T`` of the
    exact value, so ``20 u T`` apart; we allow ``32 u T``."""
    j = data.draw(st.lists(floats(-1e3, 1e3, width=32), min_size=i.numel(), max_size=i.numel()))
    i, j = i.to(dtype), torch.tensor(j, dtype=torch.float64).reshape(i.shape).to(dtype)
    a, b = torch.tensor(a, dtype=dtype), torch.tensor(b, dtype=dtype)
    lhs = image_gradients(a * i + b * j, kind)
    rhs = a * image_gradients(i, kind) + b * image_gradients(j, kind)
    scale = a.abs().double() * term_scale(i, kind) + b.abs().double() * term_scale(j, kind)
    assert_within(lhs, rhs, scale, dtype, factor=32)


@HANG
@FAST
@given(c=floats(-2.0**100, 2.0**100, width=32), h=st.integers(1, 20), w=st.integers(1, 70),
       kind=st.sampled_from(GRADIENT_KINDS))
def test_a_constant_image_has_no_gradient(c, h, w, kind, dtype, backend):
    """Within ``8 u |c|`` (``S = |c|``: the weights' magnitudes sum to 1), allowed ``16 u |c|``: the ``conv2d``
    path may sum the taps in an order with inexact partial sums such as ``-3c/8``. The Triton kernel pairs each
    tap with its mirror (``c/8 - c/8``): exactly zero."""
    image = torch.full((h, w), c, dtype=dtype)
    got = image_gradients(image, kind)
    assert_within(got, torch.zeros_like(got), torch.full(got.shape, abs(c), dtype=torch.float64), dtype)
    if backend == "triton":
        assert not got.any()


@HANG
@FAST
@given(image=images(), kind=st.sampled_from(GRADIENT_KINDS))
def test_transposing_swaps_the_derivatives(image, kind, dtype, backend):
    """``grad(I^T) = (grad_y(I)^T, grad_x(I)^T)``: the ``y`` stencil is the transposed ``x`` stencil, so the exact
    values agree and each side is within ``8 u S`` of them (the same ``S``, transposed): ``16 u S``. The Triton
    kernel writes ``∂y`` as the mirror image of ``∂x``, term for term: exact there."""
    image = image.to(dtype)
    got = image_gradients(image, kind)
    swapped = image_gradients(image.transpose(-1, -2), kind).flip(-3).transpose(-1, -2)
    assert_within(swapped, got, term_scale(image, kind), dtype)
    if backend == "triton":
        assert torch.equal(swapped, got)


@HANG
@FAST
@given(image=images(max_side=40), kind=st.sampled_from(GRADIENT_KINDS))
def test_row_sums_telescope(image, kind, dtype, backend):
    """Summed along a row, the central ``x`` difference telescopes: ``sum_x (I[x+1] - I[x-1]) / 2`` with clamped
    indices is ``I[W-1] - I[0]`` (both end pixels are counted twice, ``/ 2``; 0 when ``W = 1``). The Sobel ``∂x``
    is that difference smoothed by ``[1, 2, 1] / 4`` along ``y`` (clamped), so its row sums are the smoothed
    ``T[y] = I[y, W-1] - I[y, 0]``. Summed in float64: each output within ``8 u S`` of exact, so the row sum within
    ``8 u sum_x S`` (allowed 16) plus ``16 tiny`` per pixel."""
    image = image.to(dtype)
    got = image_gradients(image, kind)[..., 0, :, :].double()
    t = image[..., -1].double() - image[..., 0].double()  # (..., H)
    if kind == "sobel":
        up = torch.cat([t[..., :1], t[..., :-1]], -1)
        down = torch.cat([t[..., 1:], t[..., -1:]], -1)
        t = (up + 2 * t + down) / 4
    scale = term_scale(image, kind)[..., 0, :, :].sum(-1)
    w = image.shape[-1]
    tol = 16 * U[dtype] * scale + 16 * w * torch.finfo(dtype).tiny
    assert bool(((got.sum(-1) - t).abs() <= tol).all())


# --- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image,kind,error,head", [
    ([[1.0, 2.0], [3.0, 4.0]], "sobel", TypeError, "image"),
    (3.0, "sobel", TypeError, "image"),
    (torch.zeros(5), "sobel", ValueError, "image"),
    (torch.tensor(1.0), "sobel", ValueError, "image"),
    (torch.zeros(3, 4, dtype=torch.int64), "sobel", TypeError, "image"),
    (torch.zeros(3, 4, dtype=torch.bool), "sobel", TypeError, "image"),
    (torch.zeros(3, 4, dtype=torch.complex64), "sobel", TypeError, "image"),
    (torch.zeros(2, 0, 4), "sobel", ValueError, "image"),
    (torch.zeros(2, 4, 0), "sobel", ValueError, "image"),
    (torch.zeros(3, 4), "scharr", ValueError, "kind"),
    (torch.zeros(3, 4), "Sobel", ValueError, "kind"),
    (torch.zeros(3, 4), None, ValueError, "kind"),
    (torch.zeros(3, 4), 0, ValueError, "kind"),
])
def test_bad_arguments_raise_named_errors(image, kind, error, head):
    with pytest.raises(error, match=f"^{head}: expected"):
        image_gradients(image, kind)
    assert named_error(lambda: image_gradients(image, kind), {head}) is None


# --- the benchmark table -------------------------------------------------------------------------------------------

IMAGE_KEYS = {"op", "kind", "shape", "numel", "dtype", "device", "backend", "ours_s", "reference_s", "clone_s",
              "ours_over_reference", "ours_over_clone"}


def test_bench_image_gradients_table():
    data = bench_json("--tables", "image_gradients", "--image-shapes", "4x5,2x3x7x9")
    assert data["results"] == [] and data["factorized"] == [] and data["lif"] == []
    rows = data["image_gradients"]
    assert {(tuple(r["shape"]), r["kind"]) for r in rows} == {(s, k) for s in ((4, 5), (2, 3, 7, 9))
                                                               for k in GRADIENT_KINDS}
    for r in rows:
        assert IMAGE_KEYS <= set(r) and r["op"] == "image_gradients" and r["backend"] in ("torch", "triton")
        assert r["ours_s"] > 0 and r["reference_s"] > 0 and r["clone_s"] > 0  # figures, never compared
        assert r["ours_over_reference"] == r["ours_s"] / r["reference_s"]
        assert r["ours_over_clone"] == r["ours_s"] / r["clone_s"]


def test_bench_rejects_bad_image_shapes():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "kernels.bench", "--tables", "image_gradients", "--image-shapes",
                           "512"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "--image-shapes: expected" in proc.stderr
