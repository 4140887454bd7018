"""Sampled computations of a GCN: per layer, which rows are computed from which inputs, with which weights.

A GCN layer computes ``H^ℓ = σ(Â H^{ℓ-1} W_ℓ)`` for every node. A mini-batch computes only what its output nodes
need: layer ``ℓ`` is a :class:`Block` whose ``adj`` ``(rows, inputs)`` replaces ``Â`` restricted to its rows
``dst`` and its inputs ``src`` (the rows of the layer below, first, in the same order, then any others). A
sampler decides the inputs and the weights: exact rows of ``Â`` (``adj_ij = Â_ij``), a few neighbours re-weighted
so that the row's sum is unbiased (GraphSAGE, LADIES, GraphSAINT), or exact rows whose inputs beyond the computed
rows come from stale, historical embeddings (MVS-GNN; ``stale``).

``Â = D̃^-1/2 (A + I) D̃^-1/2``: ``Â_ii = 1 / (d_i + 1)``, ``Â_ij = 1 / sqrt((d_i + 1)(d_j + 1))``.

Shapes: ``dst (r,)``, ``src (m,)`` with ``src[:len(fresh)]`` the rows computed below, ``adj (r, m)`` sparse CSR.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from workbench.gnn_sampling.graph import Graph

__all__ = ["Block", "MiniBatch", "inverse_sqrt_degree", "neighbour_positions", "neighbour_pairs", "exact_block",
           "exact_minibatch", "full_batch", "local_index", "sparse_rows"]


@dataclass
class Block:
    """One layer of a sampled computation (see the module). ``fresh``: how many leading entries of ``src`` are the
    rows the layer below computes; the rest are read from the layer below's history (``stale``) or, for the first
    layer, from the features (``fresh`` is then ``len(src)``)."""

    dst: torch.Tensor
    src: torch.Tensor
    adj: torch.Tensor
    fresh: int

    @property
    def stale(self) -> torch.Tensor:
        return self.src[self.fresh:]


@dataclass
class MiniBatch:
    """``blocks`` (first layer first); the output nodes ``nodes = blocks[-1].dst`` and their loss ``weights``
    (``Σ_i w_i ℓ_i`` estimates the mean loss over the training nodes)."""

    blocks: list
    weights: torch.Tensor

    @property
    def nodes(self) -> torch.Tensor:
        return self.blocks[-1].dst


def inverse_sqrt_degree(graph: Graph) -> torch.Tensor:
    """``(d_i + 1)^-1/2`` ``(N,)`` float32: ``Â_ij = c_i c_j`` (``c`` this vector, ``i = j`` included)."""
    return (graph.degree.float() + 1).rsqrt()


def neighbour_positions(graph: Graph, dst: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(row, position)``: for every neighbour of every ``dst[row]`` (CSR order), its index in ``graph.indices``
    (what per-edge quantities, e.g. GraphSAINT's edge counts, are indexed by)."""
    starts, counts = graph.indptr[dst], graph.degree[dst]
    row = torch.repeat_interleave(torch.arange(len(dst)), counts)
    first = torch.repeat_interleave(counts.cumsum(0) - counts, counts)
    return row, torch.repeat_interleave(starts, counts) + torch.arange(int(counts.sum())) - first


def neighbour_pairs(graph: Graph, dst: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(row, node)``: every neighbour ``node`` of every ``dst[row]`` (CSR order), without self-loops."""
    row, positions = neighbour_positions(graph, dst)
    return row, graph.indices[positions]


def local_index(num_nodes: int, first: torch.Tensor, others: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(src, where)``: ``src`` = ``first`` then the distinct ``others`` not in it; ``where`` maps each of
    ``others`` to its position in ``src``."""
    slot = torch.full((num_nodes,), -1, dtype=torch.int64)
    slot[first] = torch.arange(len(first))
    extra = others[slot[others] < 0].unique()
    slot[extra] = torch.arange(len(first), len(first) + len(extra))
    return torch.cat([first, extra]), slot[others]


def sparse_rows(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """A CSR ``(r, m)`` float32 tensor from COO triples (duplicates summed)."""
    coo = torch.sparse_coo_tensor(torch.stack([rows, cols]), values.float(), shape, check_invariants=False).coalesce()
    with warnings.catch_warnings():  # CSR times dense is all we use, and it is stable on CPU
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return coo.to_sparse_csr()


def exact_block(graph: Graph, dst: torch.Tensor, coef: torch.Tensor | None = None) -> Block:
    """The rows ``dst`` of ``Â`` over all their inputs (themselves, first, then every other neighbour), every
    input computed by the layer below (``fresh = len(src)``); ``coef``: :func:`inverse_sqrt_degree`, if at hand."""
    coef = inverse_sqrt_degree(graph) if coef is None else coef
    row, nbr = neighbour_pairs(graph, dst)
    src, where = local_index(graph.num_nodes, dst, torch.cat([dst, nbr]))
    rows = torch.cat([torch.arange(len(dst)), row])
    values = coef[torch.cat([dst, dst[row]])] * coef[torch.cat([dst, nbr])]
    return Block(dst, src, sparse_rows(rows, where, values, (len(dst), len(src))), len(src))


def exact_minibatch(graph: Graph, nodes: torch.Tensor, weights: torch.Tensor, layers: int,
                    coef: torch.Tensor | None = None) -> MiniBatch:
    """The exact computation of ``nodes``' outputs: layer ``L`` the rows ``nodes`` of ``Â``, each layer below the
    rows the one above reads (the ``L``-hop neighbourhood)."""
    coef = inverse_sqrt_degree(graph) if coef is None else coef
    blocks, dst = [], nodes
    for _ in range(layers):
        blocks.append(exact_block(graph, dst, coef))
        dst = blocks[-1].src
    return MiniBatch(blocks[::-1], weights)


def full_batch(graph: Graph, layers: int, coef: torch.Tensor | None = None) -> MiniBatch:
    """Every training node's output computed exactly, each weighted ``1 / N_train``: its weighted loss is the mean
    loss over the training nodes (the full-batch loss ``f``)."""
    n = len(graph.train_idx)
    return exact_minibatch(graph, graph.train_idx, torch.full((n,), 1.0 / n), layers, coef)
