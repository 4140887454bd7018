"""The gradient with respect to a fixed adjacency, assembled as a low-rank sum instead of per use.

A GCN touches its adjacency :math:`A` (``(N, N)``, symmetric, no self-loops) only through products
:math:`Y = A M` (``M``: ``(N, h)``) and the degrees :math:`\\deg = A\\mathbf 1 + 1`. For a scalar
:math:`F` computed downstream, by the chain rule over every such use,

.. math::  \\frac{dF}{dA} = \\sum_{\\text{products}} \\frac{\\partial F}{\\partial Y}\\, M^\\top
           + \\frac{\\partial F}{\\partial \\deg}\\, \\mathbf 1^\\top ,

a sum of rank-``h`` terms. :class:`TapedGraph` adds a zero *probe* :math:`Z` to each product
(:math:`Y = AM + Z`, so :math:`\\partial F/\\partial Z = \\partial F/\\partial Y`) and to the degrees, and keeps
:math:`M`. Backward passes taken with ``create_graph=True`` (LDS's inner optimizer steps) multiply by
:math:`A^\\top = A` too; those products are taped the same way, so the second-order terms of the
hypergradient are included. After ``autograd.grad(F, tape.probes)``, :meth:`Tape.gradient` returns the
dense :math:`dF/dA` with one ``(N, R) @ (R, N)`` product, and :meth:`Tape.symmetric_gradient` the straight-through
gradient of an undirected graph's strict upper triangle, :math:`\\mathrm{triu}(G + G^\\top, 1)`, as one symmetric
rank-2R update (BLAS ``syr2k`` on CPU: half a GEMM's work, no transpose pass).

Cost per use: a sparse product, O(nnz(A) h), instead of the dense O(N^2 h) products and N^2-sized
intermediates that autograd would keep when ``A`` itself requires a gradient. Only the final assembly
is O(N^2 R).
"""

from __future__ import annotations

import warnings

import scipy.linalg.blas
import torch

__all__ = ["Tape", "TapedGraph"]


class Tape:
    """Probes (zero leaves that require a gradient) and the value each one multiplies."""

    def __init__(self):
        self.probes: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []

    def record(self, shape, value: torch.Tensor, dtype, device) -> torch.Tensor:
        probe = torch.zeros(shape, dtype=dtype, device=device, requires_grad=True)
        self.probes.append(probe)
        self.values.append(value.detach().reshape(value.shape[0], -1))
        return probe

    def factors(self, probe_grads) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(L, V)``, both ``(N, R)``, with ``dF/dA = L V^T``, from ``autograd.grad(F, self.probes,
        allow_unused=True)``; ``None`` when no probe was reached (``dF/dA = 0``)."""
        left, right = [], []
        for g, v in zip(probe_grads, self.values):
            if g is not None:
                left.append(g.reshape(g.shape[0], -1))
                right.append(v)
        if not left:
            return None
        return torch.cat(left, 1), torch.cat(right, 1)

    def gradient(self, probe_grads) -> torch.Tensor:
        """Dense ``(N, N)`` ``dF/dA = L V^T`` (see :meth:`factors`)."""
        lv = self.factors(probe_grads)
        if lv is None:
            n = self.values[0].shape[0]
            return self.values[0].new_zeros(n, n)
        return lv[0] @ lv[1].T

    def symmetric_gradient(self, probe_grads) -> torch.Tensor:
        """``triu(G + G^T, 1)`` for ``G = dF/dA = L V^T``: ``(N, N)``, zero on and below the diagonal.

        ``G + G^T = L V^T + V L^T`` is a symmetric rank-2R update; on CPU (fp32/fp64) BLAS ``syr2k`` computes its
        upper triangle only, which halves the work of ``L @ V.T`` and skips the transpose-add-triu passes.
        """
        lv = self.factors(probe_grads)
        if lv is None:
            n = self.values[0].shape[0]
            return self.values[0].new_zeros(n, n)
        left, right = (f.detach().contiguous() for f in lv)
        syr2k = {torch.float32: scipy.linalg.blas.ssyr2k, torch.float64: scipy.linalg.blas.dsyr2k}.get(left.dtype)
        if left.device.type != "cpu" or syr2k is None:
            g = left @ right.T
            return (g + g.T).triu(1)
        # column-major (R, N) views of the row-major (N, R) factors; trans=1: C = L V^T + V L^T, its lower
        # triangle in column-major order, which is the upper triangle of the row-major result (the rest is 0)
        c = syr2k(1.0, left.numpy().T, right.numpy().T, trans=1, lower=1)
        out = torch.from_numpy(c.T)
        out.diagonal().zero_()
        return out


class _TapedMatmul(torch.autograd.Function):
    """``A @ m + probe`` for a constant symmetric ``A``; its backward is a taped product again."""

    @staticmethod
    def forward(ctx, m, probe, graph):
        ctx.graph = graph
        return graph.plain_matmul(m) + probe

    @staticmethod
    def backward(ctx, g):
        return ctx.graph.matmul(g), g, None


class TapedGraph:
    """A fixed adjacency (dense or sparse, symmetric) that records its uses on a :class:`Tape`.

    ``propagate(m)`` is :math:`\\hat A m` with :math:`\\hat A = D^{-1/2}(A+I)D^{-1/2}`, computed as
    :math:`d \\odot (A (d \\odot m)) + d^2 \\odot m` without forming :math:`\\hat A`. With ``tape=None`` (or
    under ``torch.no_grad``) nothing is recorded.
    """

    def __init__(self, adjacency: torch.Tensor, tape: Tape | None = None):
        a = adjacency.detach()
        if a.is_sparse:
            a = a.coalesce()
            deg = torch.sparse.sum(a, dim=1).to_dense() + 1
            with warnings.catch_warnings():  # CSR matmul is all we use, and it is stable on CPU
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                a = a.to_sparse_csr()
        else:
            deg = a.sum(1) + 1
        self.a, self.n, self.tape = a, a.shape[0], tape
        if self._taping():
            deg = deg + tape.record((self.n,), torch.ones_like(deg), deg.dtype, deg.device)
        self.d = deg.pow(-0.5)[:, None]

    def _taping(self) -> bool:
        return self.tape is not None and torch.is_grad_enabled()

    def plain_matmul(self, m: torch.Tensor) -> torch.Tensor:
        return self.a @ m

    def matmul(self, m: torch.Tensor) -> torch.Tensor:
        """``A @ m``, taped when recording."""
        if not self._taping():
            return self.a @ m
        probe = self.tape.record(m.shape, m, m.dtype, m.device)
        return _TapedMatmul.apply(m, probe, self)

    def propagate(self, m: torch.Tensor) -> torch.Tensor:
        """``A_hat @ m`` for ``m`` of shape ``(N, h)``."""
        return self.d * self.matmul(self.d * m) + self.d * self.d * m
