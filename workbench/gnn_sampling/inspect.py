"""What a sampler does to one mini-batch, in numbers a picture can show: each training node's probability of being
drawn as an output node, its gradient norm, and the nodes and edges one drawn batch computes with.

:func:`inclusion_probabilities` ``(N_train,)``: ``P(i ∈ V_B)`` for each training node ``i`` (in the order of
``graph.train_idx``): 1 for ``full``; ``B / N_train`` for ``uniform`` (Bernoulli), ``sage`` and ``ladies`` (``B``
drawn without replacement); GraphSAINT's estimate from its pre-sampling for ``saint``; MVS's ``p_i = min(1, ḡ_i / μ)``
(0 outside the checkpoint's sample ``V_S``).

:func:`drawn_subgraph` reads a :class:`~workbench.gnn_sampling.blocks.MiniBatch` layer by layer: the output nodes
(``"batch"``), the nodes whose hidden rows the last layer reads, computed fresh (``"hop 1"``) or read from MVS's
history (``"history"``: the embedding approximation), and the nodes only the layers below read (``"hop 2"``),
with each block's edges and weights.
"""

from __future__ import annotations

import torch

from workbench.checks import check_int
from workbench.gnn_sampling.blocks import MiniBatch, exact_minibatch
from workbench.gnn_sampling.graph import Graph
from workbench.gnn_sampling.model import GCN, node_gradient_norms
from workbench.gnn_sampling.samplers import (FullBatch, Ladies, MinimalVariance, NeighbourSampling, Sampler,
                                             SaintRandomWalk, UniformNodes)

__all__ = ["ROLES", "inclusion_probabilities", "training_gradient_norms", "drawn_subgraph"]

#: a node's part in a drawn batch, outermost last
ROLES = ("batch", "hop 1", "history", "hop 2")


def inclusion_probabilities(sampler: Sampler) -> torch.Tensor:
    """``P(i ∈ V_B)`` ``(N_train,)`` float64 for each training node under ``sampler`` (see the module)."""
    if not isinstance(sampler, Sampler):
        raise TypeError(f"sampler: expected one of the samplers of workbench.gnn_sampling.samplers, got "
                        f"{type(sampler).__name__}")
    n = len(sampler.graph.train_idx)
    if isinstance(sampler, FullBatch):
        return torch.ones(n, dtype=torch.float64)
    if isinstance(sampler, (UniformNodes, MinimalVariance)):
        return sampler.p.double().clone()
    if isinstance(sampler, (NeighbourSampling, Ladies)):
        return torch.full((n,), sampler.batch_size / n, dtype=torch.float64)
    if isinstance(sampler, SaintRandomWalk):
        return sampler.node_prob[sampler.graph.train_idx].double().clone()
    raise TypeError(f"sampler: expected one of the samplers of workbench.gnn_sampling.samplers, got "
                    f"{type(sampler).__name__}")


def training_gradient_norms(model: GCN, graph: Graph) -> torch.Tensor:
    """``ḡ_i = ‖∂ℓ_i / ∂(W_L, b_L)‖`` ``(N_train,)`` for every training node, computed exactly without dropout (what
    an MVS refresh over every training node computes)."""
    n = len(graph.train_idx)
    batch = exact_minibatch(graph, graph.train_idx, torch.ones(n), model.num_layers)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits, _, a = model(graph.X, batch)
    finally:
        model.train(was)
    return node_gradient_norms(logits, a, graph.y[graph.train_idx]).double()


def drawn_subgraph(batch: MiniBatch, max_outputs: int = 40) -> dict:
    """The first ``max_outputs`` output nodes of ``batch`` and everything their computation reads.

    Returns ``{"nodes": (k,) int64 global ids, "role": list of k names from ROLES, "edges": (e, 2) int64 global
    (row, input) pairs, "edge_layer": (e,) int64 (0: first layer), "edge_weight": (e,) float32, "outputs": how many
    output nodes the batch has}``; a row's own self-loop is not listed as an edge."""
    max_outputs = check_int("max_outputs", max_outputs, 1)
    if not isinstance(batch, MiniBatch):
        raise TypeError(f"batch: expected a MiniBatch, got {type(batch).__name__}")
    blocks = batch.blocks
    rows_wanted = blocks[-1].dst[:max_outputs]
    role: dict[int, str] = {int(v): "batch" for v in rows_wanted}
    edges, layers, weights = [], [], []
    wanted = rows_wanted
    for ell in range(len(blocks) - 1, -1, -1):  # from the output layer down
        block = blocks[ell]
        position = {int(v): i for i, v in enumerate(block.dst.tolist())}
        keep_rows = torch.tensor([position[int(v)] for v in wanted if int(v) in position], dtype=torch.int64)
        adj = block.adj.to_sparse_coo().coalesce()
        r, c = adj.indices()
        on = torch.isin(r, keep_rows)
        r, c, w = r[on], c[on], adj.values()[on]
        dst, src = block.dst[r], block.src[c]
        loop = dst == src
        edges.append(torch.stack([dst[~loop], src[~loop]], 1))
        layers.append(torch.full((int((~loop).sum()),), ell, dtype=torch.int64))
        weights.append(w[~loop])
        stale = c >= block.fresh if ell > 0 else torch.zeros(len(c), dtype=torch.bool)
        for v, is_stale in zip(src.tolist(), stale.tolist()):
            if v not in role:
                role[v] = "history" if is_stale else ("hop 1" if ell == len(blocks) - 1 else "hop 2")
        wanted = src[~stale].unique() if ell > 0 else src
    nodes = torch.tensor(list(role), dtype=torch.int64)
    return {"nodes": nodes, "role": [role[int(v)] for v in nodes], "edges": torch.cat(edges),
            "edge_layer": torch.cat(layers), "edge_weight": torch.cat(weights), "outputs": len(blocks[-1].dst)}
