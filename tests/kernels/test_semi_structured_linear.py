"""``nm_linear``'s backward through a compressed 2:4 weight (:mod:`kernels.semi_structured`).

Without a GPU the compressed path is exercised with ``FakeSemiStructured``: a ``SparseSemiStructuredTensor``
subclass whose "packed" operand is the dense pruned matrix and whose ``_mm`` is a dense matmul, so that torch's
own dispatch (``t`` swapping ``packed``/``packed_t``, ``mm``/``addmm``/``linear`` with the sparse operand first or
second) runs for real on CPU. The tests marked ``cuda`` run the real cuSPARSELt/CUTLASS kernels.
"""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch.sparse import SparseSemiStructuredTensor
from torch.sparse.semi_structured import _SEMI_STRUCTURED_SPARSE_CONFIG

import kernels.semi_structured as ss
from kernels import from_semi_structured, nm_linear, nm_prune, semi_structured_supported, to_semi_structured

HAS_SM80 = torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 0)


class FakeSemiStructured(SparseSemiStructuredTensor):
    """CPU stand-in for the CUTLASS/cuSPARSELt classes: ``packed`` is the dense (pruned) matrix, ``meta`` a dummy;
    like ``from_dense`` of the real classes it builds no ``packed_t``, so ``W.t()`` has no operand to multiply."""

    BACKEND = "fake"
    _DTYPE_SHAPE_CONSTRAINTS = {dt: _SEMI_STRUCTURED_SPARSE_CONFIG(1, 4, 1, 1) for dt in (torch.float32, torch.float64)}

    @classmethod
    def from_dense(cls, dense, alg_id=0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the prototype warning
            cls._load_dispatch_table()
            return cls(dense.shape, packed=dense.clone(), meta=torch.zeros(1), packed_t=None, meta_t=None,
                       compressed_swizzled_bitmask=None)

    def to_dense(self):
        return self.packed

    def _mm(self, B, *, bias=None, should_transpose_dense=False, **kwargs):
        if self.packed is None:  # as the real classes: the transposed operand was never compressed
            raise NotImplementedError(f"`{type(self).__name__}` matmul: operation is not supported")
        res = self.packed @ (B.t() if should_transpose_dense else B)
        if bias is not None:
            res = res + bias[:, None]
        return res.t() if should_transpose_dense else res


@pytest.fixture
def fake_gpu(monkeypatch):
    """``to_semi_structured`` takes its compressed path, converting with ``FakeSemiStructured``."""
    monkeypatch.setattr(ss, "semi_structured_supported", lambda w: True)
    monkeypatch.setattr(ss, "_compress", FakeSemiStructured.from_dense)


def _data(dtype=torch.float64, batch=5, out=8, inp=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, inp, generator=g, dtype=dtype), torch.randn(out, inp, generator=g, dtype=dtype),
            torch.randn(out, generator=g, dtype=dtype))


def test_cpu_is_the_dense_fallback():
    x, w, b = _data()
    ws = to_semi_structured(w, keep_dense=True)
    assert type(ws) is torch.Tensor and ss.semi_structured_backend(ws) is None
    assert torch.equal(ws, nm_prune(w, 2, 4))
    x.requires_grad_()
    wl = w.clone().requires_grad_()
    nm_linear(x, to_semi_structured(wl), b).sum().backward()
    assert torch.allclose(wl.grad, x.detach().sum(0).expand(8, 12) * (nm_prune(w, 2, 4) != 0))  # through nm_prune


def test_torch_alone_has_no_gradient_to_x_through_a_compressed_weight(fake_gpu):
    x, w, _ = _data()
    ws = to_semi_structured(w)
    assert isinstance(ws, SparseSemiStructuredTensor) and ss.semi_structured_backend(ws) == "fake"
    assert torch.allclose(F.linear(x, ws), F.linear(x, nm_prune(w, 2, 4)))  # forward: W @ x.T, W compressed
    x.requires_grad_()
    with pytest.raises(NotImplementedError, match="operation is not supported"):
        F.linear(x, ws).sum().backward()  # grad @ W needs W.T compressed along out: never built


@pytest.mark.parametrize("keep_dense", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_nm_linear_backward_through_a_compressed_weight(fake_gpu, keep_dense, bias):
    x, w, b = _data()
    ws = to_semi_structured(w, keep_dense=keep_dense)
    assert isinstance(ws, SparseSemiStructuredTensor)
    assert (getattr(ws, ss._DENSE_ATTR, None) is not None) == keep_dense
    assert torch.equal(from_semi_structured(ws), nm_prune(w, 2, 4))
    b = b.requires_grad_() if bias else None
    x.requires_grad_()
    assert torch.autograd.gradcheck(lambda x, b: nm_linear(x, ws, b), (x, b))
    g = torch.randn(5, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    got = torch.autograd.grad(nm_linear(x, ws, b), [x] + ([b] if bias else []), g)
    want = torch.autograd.grad(F.linear(x, nm_prune(w, 2, 4), b), [x] + ([b] if bias else []), g)
    for a, e in zip(got, want):
        assert torch.allclose(a, e)


def test_nm_linear_backward_with_leading_dims_and_bias_only(fake_gpu):
    x, w, b = _data(batch=6)
    ws = to_semi_structured(w, keep_dense=True)
    x3 = x.view(2, 3, 12).requires_grad_()
    out = nm_linear(x3, ws)
    assert out.shape == (2, 3, 8) and torch.allclose(out, F.linear(x3, nm_prune(w, 2, 4)))
    (gx,) = torch.autograd.grad(out.square().sum(), x3)
    assert torch.allclose(gx, 2 * out.detach() @ nm_prune(w, 2, 4))
    b.requires_grad_()
    (gb,) = torch.autograd.grad(nm_linear(x, ws, b).sum(), b)  # x needs no grad
    assert torch.equal(gb, torch.full((8,), 6.0, dtype=torch.float64))


def test_nm_linear_without_grad_is_the_plain_sparse_forward(fake_gpu, monkeypatch):
    x, w, b = _data()
    ws = to_semi_structured(w)
    monkeypatch.setattr(ss._SparseWeightLinear, "apply", None)  # would fail if called
    assert torch.allclose(nm_linear(x, ws, b), F.linear(x, nm_prune(w, 2, 4), b))
    with torch.no_grad():
        assert torch.allclose(nm_linear(x.requires_grad_(), ws, b), F.linear(x, nm_prune(w, 2, 4), b))


@pytest.mark.skipif(not HAS_SM80, reason="needs an NVIDIA GPU of compute capability >= 8.0")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("keep_dense", [False, True])
def test_cuda_backward_through_the_sparse_kernels(dtype, keep_dense):
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(64, 512, device="cuda", dtype=dtype, generator=g, requires_grad=True)
    w = torch.randn(256, 512, device="cuda", dtype=dtype, generator=g)
    b = torch.randn(256, device="cuda", dtype=dtype, generator=g, requires_grad=True)
    assert semi_structured_supported(w)
    ws = to_semi_structured(w, keep_dense=keep_dense)
    assert ss.semi_structured_backend(ws) in ("cusparselt", "cutlass")
    dense = nm_prune(w, 2, 4)
    assert torch.equal(from_semi_structured(ws), dense)
    up = torch.randn(64, 256, device="cuda", dtype=dtype, generator=g)
    got = torch.autograd.grad(nm_linear(x, ws, b), (x, b), up)
    want = torch.autograd.grad(F.linear(x.float(), dense.float(), b.float()), (x, b), up.float())
    atol = {torch.float16: 0.05, torch.bfloat16: 0.4}[dtype]  # as test_cuda's forward check: 256 terms of ~1
    for a, e in zip(got, want):
        assert torch.allclose(a.float(), e, rtol=0, atol=atol * 4)
