"""The compiled Triton kernels on an NVIDIA GPU, against the PyTorch path (skipped without a GPU).

Masks must agree exactly (the same ranking, ties to the lower index); MVUE draws with the same key must
agree except where a uniform lands within float rounding of a sampling boundary; the draws must be
unbiased on the device; and the ops must work under autograd, ``torch.compile`` and the 2:4
semi-structured matmul; the LIF kernels must give the PyTorch path's spikes, membrane and gradients; the image
derivatives must agree with the PyTorch path within the rounding bound of ``tests/kernels/test_image_gradients.py``.
"""

import os

import pytest
import torch
import torch.nn.functional as F

import kernels  # noqa: F401 - registers torch.ops.workbench.*
from kernels import (
    SURROGATES, _triton, factorized_linear, image_gradients, lif, mvue_prune, mvue_variance, nm_linear, nm_mask,
    nm_prune, to_semi_structured,
)
from kernels._backend import choose_backend
from kernels.semi_structured import semi_structured_supported

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine"),
    pytest.mark.skipif(not _triton.available(), reason="triton is not installed"),
]

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
NM = [(1, 2), (2, 4), (1, 4), (3, 4), (1, 3), (2, 8), (3, 8), (4, 8), (5, 8)]
MVUE = [(1, 2, "exact"), (2, 4, "exact"), (2, 4, "approx")]


@pytest.fixture
def triton(monkeypatch):
    """Force the Triton path (an explicit request raises if it cannot run) and check it is compiled."""
    assert os.environ.get("TRITON_INTERPRET") != "1", "the GPU tests must run the compiled kernels"
    monkeypatch.setenv("WORKBENCH_KERNELS", "triton")
    return monkeypatch


def cuda_randn(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(*shape, generator=g, device="cuda", dtype=torch.float32).to(dtype)


def on_torch(monkeypatch, fn):
    monkeypatch.setenv("WORKBENCH_KERNELS", "torch")
    try:
        return fn()
    finally:
        monkeypatch.setenv("WORKBENCH_KERNELS", "triton")


def test_auto_picks_triton_on_cuda(monkeypatch):
    monkeypatch.delenv("WORKBENCH_KERNELS", raising=False)
    assert choose_backend(torch.zeros(4, device="cuda"), supported=True, what="op") == "triton"


@pytest.mark.parametrize("n,m", NM)
@pytest.mark.parametrize("dtype", DTYPES)
def test_nm_mask_matches_the_torch_path(n, m, dtype, triton):
    # 1037 * 2 rows of blocks: several programs and a ragged last one (BLOCK = 128..1024 blocks each, autotuned)
    x = cuda_randn(1037, 2 * m, seed=n * 10 + m, dtype=dtype)
    x[:7] = 1.0  # ties: the lower index wins on both paths
    x[7:9] = 0.0
    got = nm_mask(x, n, m)
    want = on_torch(triton, lambda: nm_mask(x, n, m))
    assert got.device.type == "cuda" and torch.equal(got, want)
    assert torch.equal(nm_prune(x, n, m), on_torch(triton, lambda: nm_prune(x, n, m)))


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_nm_prune_any_dim_and_non_contiguous(dim, triton):
    x = cuda_randn(12, 40, 8, seed=dim).transpose(0, 2)  # (8, 40, 12), non-contiguous
    assert not x.is_contiguous()
    got = nm_prune(x, 2, 4, dim=dim)
    assert torch.equal(got, on_torch(triton, lambda: nm_prune(x, 2, 4, dim=dim)))
    assert torch.equal(got.cpu(), on_torch(triton, lambda: nm_prune(x.cpu(), 2, 4, dim=dim)))


def test_nm_prune_gradient_is_the_mask(triton):
    x = cuda_randn(64, 32, seed=3).requires_grad_()
    g = cuda_randn(64, 32, seed=4)
    (nm_prune(x, 2, 4) * g).sum().backward()
    assert torch.equal(x.grad, g * nm_mask(x.detach(), 2, 4))


@pytest.mark.parametrize("n,m,method", MVUE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_mvue_same_key_same_draw_as_the_torch_path(n, m, method, dtype, triton):
    x = cuda_randn(513, 64, seed=m, dtype=dtype)
    x[0] = 0.0  # all-zero blocks
    got = torch.ops.workbench.mvue_prune(x, n, m, -1, method, 12345)
    want = on_torch(triton, lambda: torch.ops.workbench.mvue_prune(x, n, m, -1, method, 12345))
    assert got.dtype == dtype and torch.equal(got, torch.ops.workbench.mvue_prune(x, n, m, -1, method, 12345))
    same_mask = ((got != 0) == (want != 0)).all(-1).float().mean()
    # the two paths compute p in different orders; a block can differ only when its uniform falls
    # within rounding (~1e-6 relative in float32) of a cumulative-probability boundary: expected
    # fraction ~1e-5, so 1 in 1000 blocks (33k here) leaves a wide margin and still catches a wrong sampler
    assert float(same_mask) > 0.999
    both = (got != 0) & (want != 0)
    tol = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2}.get(dtype, 1e-5)  # one or two ulps of the dtype
    assert torch.allclose(got[both].double(), want[both].double(), rtol=tol, atol=0)


@pytest.mark.parametrize("n,m,method", MVUE)
def test_mvue_is_unbiased_on_the_gpu(n, m, method, triton):
    k = 20000
    g = torch.Generator(device="cuda").manual_seed(5)
    sign = torch.randint(0, 2, (8, 16), generator=g, device="cuda").double() * 2 - 1
    x = sign * torch.exp(2.0 * torch.randn(8, 16, generator=g, device="cuda", dtype=torch.float64))
    d = mvue_prune(x.expand(k, 8, 16).contiguous(), n, m, method=method, generator=g)
    var = mvue_variance(x, n, m, method=method)
    z = (d.mean(0) - x).abs() / (var / k).sqrt().clamp_min(1e-300)
    # |z| < 5.5 over 128 entries: false alarm below 1e-5 (as in test_mvue.py)
    assert float(z[var > 0].max()) < 5.5
    # at most n kept per block, exactly n when the block has >= n non-zeros (systematic sampling)
    nnz = (d.reshape(k, -1, m) != 0).sum(-1)
    assert int(nnz.max()) <= n
    if method == "exact":
        assert int(nnz.min()) == n
    # sample variance within 5 % of the exact variance (> 10 sd at K = 20000, as in test_mvue.py)
    assert abs(float(d.var(0).sum() / var.sum()) - 1) < 0.05


FLAG_OPS = [lambda x: nm_prune(x, 2, 4), lambda x: nm_mask(x, 2, 4), lambda x: mvue_prune(x, 1, 2),
            lambda x: mvue_prune(x, 2, 4), lambda x: mvue_prune(x, 2, 4, method="approx")]


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_flags_catch_nonfinite_input_on_the_device(dtype, triton):
    """The kernels' flags word (no torch.isfinite pass) catches a NaN / Inf anywhere, here in the ragged last
    program, and is 0 on the device for ordinary input."""
    x = cuda_randn(1037, 8, seed=11, dtype=dtype)
    _, flags = _triton.nm_prune_blocks(x.reshape(-1, 4), 2, 4)
    assert flags.device.type == "cuda" and flags.dtype == torch.int32 and int(flags.sum()) == 0
    _, flags = _triton.mvue_blocks(x.reshape(-1, 4), 2, 4, "exact", 1)
    assert int(flags.sum()) == 0
    for bad, word in [(float("nan"), "NaN"), (float("inf"), "Inf")]:
        y = x.clone()
        y[1036, 7] = bad
        for op in FLAG_OPS:
            with pytest.raises(ValueError, match=word):
                op(y)


@pytest.mark.parametrize("dtype,block", [
    (torch.float16, [30000.0, 60000.0]),  # kept 90000 > 65504
    (torch.bfloat16, [2.0 ** 128 - 2.0 ** 120, 3 * 2.0 ** 118]),  # kept 2^128 - 2^118: rounds to inf in bfloat16
])
def test_kernel_flags_catch_an_overflow_in_the_output_cast(dtype, block, triton):
    x = torch.zeros(1037, 8, dtype=dtype, device="cuda")
    x[1036, 6:] = torch.tensor(block, dtype=dtype)
    with pytest.raises(ValueError, match="^x: an unbiased kept value"):
        mvue_prune(x, 1, 2)
    assert torch.isfinite(mvue_prune(x.float(), 1, 2)).all()  # finite in float32


def test_large_tensor_and_empty_tensor(triton):
    x = cuda_randn(1 << 24, seed=7)  # 16M entries, 16k programs
    y = nm_prune(x, 2, 4)
    assert int((y.reshape(-1, 4) != 0).sum(-1).max()) == 2
    assert torch.equal(y, on_torch(triton, lambda: nm_prune(x, 2, 4)))
    e = torch.empty(0, 8, device="cuda")
    assert nm_prune(e, 2, 4).shape == (0, 8) and mvue_prune(e, 2, 4).shape == (0, 8)


def test_ops_compile_in_a_full_graph_on_cuda(triton):
    x = cuda_randn(64, 64, seed=8)
    f = torch.compile(lambda t: nm_prune(t * 2, 2, 4) + 1, fullgraph=True)
    assert torch.equal(f(x), nm_prune(x * 2, 2, 4) + 1)
    h = torch.compile(lambda t: torch.ops.workbench.mvue_prune(t, 2, 4, -1, "exact", 9), fullgraph=True)
    assert torch.equal(h(x), torch.ops.workbench.mvue_prune(x, 2, 4, -1, "exact", 9))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_semi_structured_linear_matches_dense(dtype, triton):
    w = cuda_randn(256, 512, seed=10, dtype=dtype)
    x = cuda_randn(64, 512, seed=11, dtype=dtype)
    b = cuda_randn(256, seed=12, dtype=dtype)
    assert semi_structured_supported(w)
    ws = to_semi_structured(w)
    assert type(ws).__name__.startswith("SparseSemiStructuredTensor")
    dense = nm_prune(w, 2, 4)
    want = F.linear(x.float(), dense.float(), b.float())
    # half-precision accumulation over 256 kept terms of size ~1: |error| ~ sqrt(256) * ulp(16) ~ 0.25
    # in bfloat16; compare with a tolerance of a few ulps of the output's scale
    atol = {torch.float16: 0.05, torch.bfloat16: 0.4}[dtype]
    assert torch.allclose(nm_linear(x, ws, b).float(), want, rtol=0, atol=atol)


@pytest.mark.parametrize("identity", [False, True])
def test_factorized_linear_matches_the_torch_path(identity, triton):
    from tests.kernels.test_factorized import bound, factors

    # an MNIST-CNN-like layer; n and the batch ragged against the (32 x 64) tiles of the kernel
    n, k, s = 300, 64, 8
    d = k if identity else 3136
    f = factors(n, k, d, s, identity=identity, seed=1)
    g = torch.Generator().manual_seed(2)
    x, bias = torch.randn(257, d, generator=g), torch.randn(n, generator=g)
    fc = {a: None if t is None else t.cuda() for a, t in f.items()}
    got = factorized_linear(x.cuda(), **fc, bias=bias.cuda())
    want = on_torch(triton, lambda: factorized_linear(x.cuda(), **fc, bias=bias.cuda()))  # CSR on the GPU
    cpu = on_torch(triton, lambda: factorized_linear(x, **f, bias=bias))
    assert got.device.type == "cuda" and got.dtype == torch.float32 and got.shape == (257, n)
    # every path is within (d + s + 3) u M of the exact result (tests/kernels/test_factorized.py), so two are
    # within the bound used there; it assumes IEEE float32 matmuls (PyTorch's default: TF32 is off)
    tol = bound(x, f, bias)
    assert bool(((got.cpu().double() - want.cpu().double()).abs() <= tol).all())
    assert bool(((got.cpu().double() - cpu.double()).abs() <= tol).all())


def lif_run(current, beta, threshold, grads, surrogate):
    c, b, th = (x.clone().requires_grad_() for x in (current, beta, threshold))
    spikes, membrane = lif(c, b, th, surrogate=surrogate, slope=5.0)
    torch.autograd.backward([spikes, membrane], grads)
    return spikes.detach(), membrane.detach(), c.grad, b.grad, th.grad


@pytest.mark.parametrize("surrogate", SURROGATES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lif_matches_the_torch_path(surrogate, dtype, triton):
    # 37 x 96 = 3552 (sequence, neuron) columns: 28 programs of 128 and a ragged last one; 50 steps
    b, t, h = 37, 50, 96
    current = 1.6 * cuda_randn(b, t, h, seed=20, dtype=dtype) + 0.8
    beta = 0.3 + 0.6 * torch.rand(h, generator=torch.Generator(device="cuda").manual_seed(21), device="cuda",
                                  dtype=dtype)
    threshold = torch.tensor(1.0, device="cuda", dtype=dtype)
    grads = [cuda_randn(b, t, h, seed=22 + i, dtype=dtype) for i in range(2)]
    got = lif_run(current, beta, threshold, grads, surrogate)
    want = on_torch(triton, lambda: lif_run(current, beta, threshold, grads, surrogate))
    assert got[0].device.type == "cuda" and got[0].dtype == dtype
    # the compiled kernel may contract a multiply-add into an FMA where the PyTorch path rounds twice: a membrane
    # within an ulp of the threshold can then spike on one path only, and that column differs from there on. In
    # float32 (~1.8e5 steps here, each within an ulp with probability ~1e-7) allow a few such columns and compare
    # the others; in float64 none, and the gradients too
    same = (got[0] == want[0]).all(1)  # (b, h): columns whose spike trains agree
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    if dtype == torch.float32:
        assert float(same.float().mean()) > 0.99
    else:
        assert bool(same.all())
    scale = float(want[1].abs().max())
    assert torch.allclose(got[1].transpose(1, 2)[same], want[1].transpose(1, 2)[same], rtol=tol, atol=tol * scale)
    if dtype == torch.float64:
        for g, w in zip(got[2:], want[2:]):
            assert g.shape == w.shape
            assert torch.allclose(g, w, rtol=1e-9, atol=1e-9 * float(w.abs().max()))


def test_lif_large_and_empty_on_cuda(triton):
    b, t, h = 512, 200, 256  # 1024 programs, 200 steps
    current = 1.6 * cuda_randn(b, t, h, seed=30) + 0.8
    beta, threshold = torch.full((h,), 0.8, device="cuda"), torch.tensor(1.0, device="cuda")
    spikes, membrane = lif(current, beta, threshold)
    assert torch.equal(spikes.bool(), membrane > threshold)
    want_s, want_v = on_torch(triton, lambda: lif(current, beta, threshold))
    assert float((spikes == want_s).all(1).float().mean()) > 0.99
    empty = torch.empty(3, 0, h, device="cuda", requires_grad=True)
    s, v = lif(empty, beta, threshold)
    assert s.shape == v.shape == (3, 0, h)
    (s.sum() + v.sum()).backward()
    assert empty.grad.shape == (3, 0, h)


@pytest.mark.parametrize("kind", ["sobel", "central"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", [(3, 37, 130), (4, 3, 64, 64), (2, 1, 65), (33, 1), (1, 1)])
def test_image_gradients_match_the_torch_path(kind, dtype, shape, triton):
    from tests.kernels.test_image_gradients import term_scale

    # tiles of 16 x 64 pixels: ragged in both directions, exact, one-pixel-wide images
    x = 10 * cuda_randn(*shape, seed=40, dtype=dtype)
    got = image_gradients(x, kind)
    assert got.device.type == "cuda" and got.dtype == dtype and got.shape == (*shape[:-2], 2, *shape[-2:])
    # the PyTorch path in float64 on the same values (no TF32 in float64 convolutions): the kernel is within
    # 8 u S of it in float32 (u = 2^-24, S = sum |w| |I|; test_image_gradients.py), then rounds to the dtype
    want = on_torch(triton, lambda: image_gradients(x.double(), kind))
    tol = 16 * 2.0**-24 * term_scale(x.cpu(), kind).cuda() + torch.finfo(dtype).eps / 2 * want.abs()
    assert bool(((got.double() - want).abs() <= tol).all())
    if dtype == torch.float32:  # and the PyTorch path in float32 with TF32 off: both within 8 u S of exact
        torch.backends.cudnn.allow_tf32, tf32 = False, torch.backends.cudnn.allow_tf32
        try:
            want32 = on_torch(triton, lambda: image_gradients(x, kind))
        finally:
            torch.backends.cudnn.allow_tf32 = tf32
        assert bool(((got.double() - want32.double()).abs() <= tol).all())
    # needing a gradient: auto falls back to the PyTorch path, which is differentiable
    triton.setenv("WORKBENCH_KERNELS", "auto")
    leaf = x.float().requires_grad_()
    image_gradients(leaf, kind).sum().backward()
    assert leaf.grad.shape == shape
