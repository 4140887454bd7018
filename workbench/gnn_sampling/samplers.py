"""The mini-batch samplers, in plain PyTorch (no torch-scatter, torch-sparse or pyg-lib).

Every sampler gives a :class:`~workbench.gnn_sampling.blocks.MiniBatch` whose weighted loss ``Σ_i w_i ℓ_i``
estimates the mean loss over the training nodes, and whose blocks say how each layer is computed:

* ``full``: every training node, exact (the reference; ``w_i = 1 / N_train``);
* ``uniform``: each training node independently with probability ``B / N_train``, exact ``L``-hop computation;
* ``sage`` (GraphSAGE; Hamilton et al. 2017): ``B`` training nodes, then per layer ``fanout`` neighbours of each
  row drawn without replacement, re-weighted by ``d_i / s_i`` so that each row's aggregation is unbiased;
* ``ladies`` (Zou et al. 2019): ``B`` training nodes, then per layer ``layer_size`` nodes drawn from the rows'
  neighbourhood with probability ``q_j ∝ Σ_i Â_ij²`` (plus the rows themselves), weights ``Â_ij / q_j`` scaled so
  that each row keeps the mass of its row of ``Â`` (LADIES' row normalisation);
* ``saint`` (GraphSAINT's random-walk sampler; Zeng et al. 2020): ``B / (walk + 1)`` roots drawn from the training
  nodes walk ``walk`` steps; the induced subgraph, its edges weighted ``Â_uv C_u / C_uv`` and its training nodes'
  losses ``1 / (N_train P(v ∈ S))``, the counts ``C`` from subgraphs drawn up front until each node was seen about
  ``coverage`` times on average;
* ``mvs`` (MVS-GNN; Cong et al. 2020): each training node with probability ``p_i = min(1, ḡ_i / μ)``, ``Σ p_i = B``
  (:mod:`.mvs`), the gradient norms ``ḡ`` and historical embeddings ``H̄`` refreshed by an exact pass every
  ``refresh_every`` steps; each layer computes the batch's rows only, its other inputs read from ``H̄`` (the
  embedding approximation), the loss weighted ``1 / (p_i N_train)``. ``history=False`` computes the neighbours
  exactly instead (importance sampling alone); ``on_the_fly=True`` also replaces the drawn nodes' norms by those
  of each step and recomputes ``p`` (the authors' ``mvs_gcn_plus_otf``, which also applies its refresh's exact
  gradient: ``iter_train(exact_step_every=refresh_every)``); ``checkpoint_ratio`` ``γ < 1`` makes the
  exact pass on a uniform sample ``V_S`` of ``γ N_train`` training nodes (and their neighbourhoods) only: until the
  next refresh only ``V_S`` is drawn from, weighted ``1 / (p_i |V_S|)`` (the paper's Alg. 1; Reddit 10 %).

Shapes: a batch's output nodes ``(b,)`` and weights ``(b,)``; ``H̄[ℓ]`` ``(N, hidden)``.
"""

from __future__ import annotations

import torch

from workbench.checks import check_int, check_real
from workbench.gnn_sampling.blocks import (Block, MiniBatch, exact_block, exact_minibatch, full_batch,
                                           inverse_sqrt_degree, local_index, neighbour_pairs, neighbour_positions,
                                           sparse_rows)
from workbench.gnn_sampling.graph import Graph, check_batch_size, check_graph
from workbench.gnn_sampling.mvs import draw_batch, importance_weights, mvs_probabilities, uniform_probabilities

__all__ = ["SAMPLERS", "Sampler", "FullBatch", "UniformNodes", "NeighbourSampling", "Ladies", "SaintRandomWalk",
           "MinimalVariance", "make_sampler"]


class Sampler:
    """What every sampler has: ``sample(generator) -> MiniBatch``; ``refresh(model, X)`` (called every step before
    ``sample``; MVS's checkpoints) and ``update(batch, hidden)`` (after a step; MVS's histories) do nothing by
    default; ``history``: the embeddings stale inputs are read from (None); ``cycle``: the steps between refreshes
    of the sampler's state (1: nothing goes stale; MVS: ``refresh_every``), over which its variance is measured."""

    name = "sampler"
    cycle = 1

    def __init__(self, graph: Graph, batch_size: int, layers: int = 2):
        self.graph = check_graph(graph)
        self.layers = check_int("layers", layers, 1)
        self.batch_size = check_batch_size(batch_size, len(graph.train_idx))
        self.coef = inverse_sqrt_degree(graph)
        self.history = None

    def sample(self, generator: torch.Generator | None = None) -> MiniBatch:
        raise NotImplementedError

    def refresh(self, model, X: torch.Tensor) -> None:
        return None

    def update(self, batch: MiniBatch, hidden: list, norms: torch.Tensor | None = None) -> None:
        return None

    def _fixed_batch(self, generator) -> torch.Tensor:
        """``B`` training nodes drawn without replacement (sorted)."""
        train = self.graph.train_idx
        return train[torch.randperm(len(train), generator=generator)[:self.batch_size]].sort().values

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_size={self.batch_size}, layers={self.layers})"


class FullBatch(Sampler):
    name = "full"

    def __init__(self, graph: Graph, batch_size: int | None = None, layers: int = 2):
        super().__init__(graph, len(graph.train_idx) if batch_size is None else batch_size, layers)
        self._batch = full_batch(graph, layers, self.coef)

    def sample(self, generator=None) -> MiniBatch:
        return self._batch


class UniformNodes(Sampler):
    name = "uniform"

    def __init__(self, graph: Graph, batch_size: int, layers: int = 2):
        super().__init__(graph, batch_size, layers)
        self.p = uniform_probabilities(len(graph.train_idx), self.batch_size)

    def sample(self, generator=None) -> MiniBatch:
        chosen = draw_batch(self.p, generator)
        return exact_minibatch(self.graph, self.graph.train_idx[chosen], importance_weights(self.p, chosen).float(),
                               self.layers, self.coef)


class NeighbourSampling(Sampler):
    name = "sage"

    def __init__(self, graph: Graph, batch_size: int, fanouts: tuple[int, ...] = (10, 5), layers: int = 2):
        super().__init__(graph, batch_size, layers)
        if not isinstance(fanouts, (tuple, list)) or len(fanouts) != layers:
            raise ValueError(f"fanouts: expected one fan-out per layer ({layers}), got {fanouts!r}")
        self.fanouts = tuple(check_int("fanouts", f, 1) for f in fanouts)

    def _block(self, dst: torch.Tensor, fanout: int, generator) -> Block:
        row, nbr = neighbour_pairs(self.graph, dst)
        if len(row):  # a random rank within each row: keep the first `fanout`
            order = (row.double() + torch.rand(len(row), generator=generator, dtype=torch.float64)).argsort()
            row, nbr = row[order], nbr[order]
            first = torch.repeat_interleave(self.graph.degree[dst].cumsum(0) - self.graph.degree[dst],
                                            self.graph.degree[dst])
            keep = torch.arange(len(row)) - first < fanout
            row, nbr = row[keep], nbr[keep]
        deg = self.graph.degree[dst].float()
        kept = deg.clamp(max=fanout).clamp(min=1)
        src, where = local_index(self.graph.num_nodes, dst, torch.cat([dst, nbr]))
        rows = torch.cat([torch.arange(len(dst)), row])
        values = torch.cat([self.coef[dst] ** 2, self.coef[dst[row]] * self.coef[nbr] * (deg / kept)[row]])
        return Block(dst, src, sparse_rows(rows, where, values, (len(dst), len(src))), len(src))

    def sample(self, generator=None) -> MiniBatch:
        nodes = self._fixed_batch(generator)
        blocks, dst = [], nodes
        for fanout in reversed(self.fanouts):  # the output layer's fan-out is the last one
            blocks.append(self._block(dst, fanout, generator))
            dst = blocks[-1].src
        return MiniBatch(blocks[::-1], torch.full((len(nodes),), 1.0 / len(nodes)))


class Ladies(Sampler):
    name = "ladies"

    def __init__(self, graph: Graph, batch_size: int, layer_size: int | None = None, layers: int = 2):
        super().__init__(graph, batch_size, layers)
        self.layer_size = self.batch_size if layer_size is None else check_int("layer_size", layer_size, 1)

    def _block(self, dst: torch.Tensor, generator) -> Block:
        row, nbr = neighbour_pairs(self.graph, dst)
        rows = torch.cat([torch.arange(len(dst)), row])
        cols = torch.cat([dst, nbr])
        values = self.coef[torch.cat([dst, dst[row]])] * self.coef[cols]
        candidates, where = local_index(self.graph.num_nodes, dst, cols)
        q = torch.zeros(len(candidates), dtype=torch.float64).index_add_(0, where, values.double() ** 2)
        q = q / q.sum()
        s = min(self.layer_size, int((q > 0).sum()))
        picked = torch.multinomial(q, s, replacement=False, generator=generator)
        keep = torch.zeros(len(candidates), dtype=torch.bool)
        keep[picked] = True
        keep[:len(dst)] = True  # LADIES adds the rows themselves
        on = keep[where]
        w = values[on] / q[where[on]].float()
        row_mass = torch.zeros(len(dst)).index_add_(0, rows, values)
        kept_mass = torch.zeros(len(dst)).index_add_(0, rows[on], w)
        w = w * (row_mass / kept_mass)[rows[on]]
        src, col = local_index(self.graph.num_nodes, dst, cols[on])
        return Block(dst, src, sparse_rows(rows[on], col, w, (len(dst), len(src))), len(src))

    def sample(self, generator=None) -> MiniBatch:
        nodes = self._fixed_batch(generator)
        blocks, dst = [], nodes
        for _ in range(self.layers):
            blocks.append(self._block(dst, generator))
            dst = blocks[-1].src
        return MiniBatch(blocks[::-1], torch.full((len(nodes),), 1.0 / len(nodes)))


class SaintRandomWalk(Sampler):
    name = "saint"

    def __init__(self, graph: Graph, batch_size: int, walk: int = 2, coverage: int = 100, layers: int = 2,
                 seed: int = 0):
        super().__init__(graph, batch_size, layers)
        self.walk = check_int("walk", walk, 1)
        self.roots = max(1, self.batch_size // (self.walk + 1))
        coverage = check_int("coverage", coverage, 1)
        gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
        # GraphSAINT's pre-sampling: enough subgraphs that each node is seen about `coverage` times (a node's
        # weight is 1 / its estimated probability, and too few draws make that estimate's inverse biased)
        presample = -(-coverage * graph.num_nodes // (self.roots * (self.walk + 1)))
        node_count = torch.zeros(graph.num_nodes)
        edge_count = torch.zeros(len(graph.indices))
        for _ in range(presample):  # GraphSAINT's normalisation: how often each node and edge is sampled
            nodes = self._walk_nodes(gen)
            node_count[nodes] += 1
            edge_count[self._induced_edges(nodes)[2]] += 1
        self.presample = presample
        self.node_prob = (node_count / presample).clamp(min=1.0 / presample)  # never-seen nodes: as if seen once
        self.node_count, self.edge_count = node_count.clamp(min=1), edge_count.clamp(min=1)

    def _walk_nodes(self, gen) -> torch.Tensor:
        train = self.graph.train_idx
        here = train[torch.randint(len(train), (self.roots,), generator=gen)]
        if not len(self.graph.indices):  # a graph without edges: every walk stays at its root
            return here.unique()
        visited = [here]
        deg = self.graph.degree
        for _ in range(self.walk):
            step = (torch.rand(len(here), generator=gen) * deg[here]).long()
            moves = deg[here] > 0  # an isolated node stays where it is
            here = torch.where(moves, self.graph.indices[(self.graph.indptr[here] + step).clamp(
                max=len(self.graph.indices) - 1)], here)
            visited.append(here)
        return torch.cat(visited).unique()

    def _induced_edges(self, nodes: torch.Tensor):
        """``(row, nbr, position)``: the edges among ``nodes`` (``position``: their index in the CSR)."""
        row, positions = neighbour_positions(self.graph, nodes)
        nbr = self.graph.indices[positions]
        inside = torch.zeros(self.graph.num_nodes, dtype=torch.bool)
        inside[nodes] = True
        keep = inside[nbr]
        return row[keep], nbr[keep], positions[keep]

    def sample(self, generator=None) -> MiniBatch:
        nodes = self._walk_nodes(generator)
        row, nbr, pos = self._induced_edges(nodes)
        src, where = local_index(self.graph.num_nodes, nodes, torch.cat([nodes, nbr]))
        rows = torch.cat([torch.arange(len(nodes)), row])
        values = torch.cat([self.coef[nodes] ** 2, self.coef[nodes[row]] * self.coef[nbr]
                            * self.node_count[nodes[row]] / self.edge_count[pos]])
        adj = sparse_rows(rows, where, values, (len(nodes), len(src)))
        blocks = [Block(nodes, src, adj, len(src)) for _ in range(self.layers - 1)]
        is_train = torch.zeros(self.graph.num_nodes, dtype=torch.bool)
        is_train[self.graph.train_idx] = True
        out = nodes[is_train[nodes]]
        top_rows = is_train[nodes].nonzero()[:, 0]
        top = adj.to_sparse_coo().index_select(0, top_rows).coalesce().to_sparse_csr()
        blocks.append(Block(out, src, top, len(src)))
        weights = 1.0 / (len(self.graph.train_idx) * self.node_prob[out])
        return MiniBatch(blocks, weights)


class MinimalVariance(Sampler):
    name = "mvs"

    def __init__(self, graph: Graph, batch_size: int, refresh_every: int = 20, history: bool = True,
                 on_the_fly: bool = False, checkpoint_ratio: float = 1.0, layers: int = 2, seed: int = 0):
        super().__init__(graph, batch_size, layers)
        self.refresh_every = self.cycle = check_int("refresh_every", refresh_every, 1)
        self.checkpoint_ratio = check_real("checkpoint_ratio", checkpoint_ratio, 0.0, 1.0)
        self._gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
        self._scale = len(graph.train_idx)  # |V_S|: what the importance weights divide by
        self.use_history = bool(history)
        self.on_the_fly = bool(on_the_fly)
        self._chosen = None
        self.p = uniform_probabilities(len(graph.train_idx), self.batch_size)  # until the first refresh
        self.norms = None
        self._steps = 0

    def refresh(self, model, X: torch.Tensor) -> None:
        """Every ``refresh_every`` calls: :meth:`refresh_now`."""
        due = self._steps % self.refresh_every == 0
        self._steps += 1
        if due:
            self.refresh_now(model, X)

    def refresh_now(self, model, X: torch.Tensor) -> None:
        """An exact pass over the graph (no dropout) gives every node's hidden pre-activations (the history) and
        the training nodes' gradient norms, hence new probabilities; the refresh schedule is left as it was."""
        from workbench.gnn_sampling.model import node_gradient_norms

        train = self.graph.train_idx
        if self.checkpoint_ratio == 1:  # V_S: every training node; the pass computes every node
            sample, everyone = torch.arange(len(train)), torch.arange(self.graph.num_nodes)
        else:
            count = max(self.batch_size, round(self.checkpoint_ratio * len(train)))
            sample = torch.randperm(len(train), generator=self._gen)[:count].sort().values
            everyone = train[sample]
        batch = exact_minibatch(self.graph, everyone, torch.ones(len(everyone)), model.num_layers, self.coef)
        was = model.training
        model.eval()
        with torch.no_grad():
            logits, hidden, a = model(X, batch)
        model.train(was)
        if self.history is None:
            self.history = [torch.zeros(self.graph.num_nodes, h.shape[1]) for h in hidden]
        for ell, h in enumerate(hidden):  # the rows this pass computed: V_S and its neighbourhoods
            self.history[ell][batch.blocks[ell].dst] = h
        where = torch.full((self.graph.num_nodes,), -1, dtype=torch.int64)
        where[batch.nodes] = torch.arange(len(batch.nodes))  # a node's row among the pass's outputs
        picked = where[train[sample]]
        self.norms = torch.zeros(len(train), dtype=torch.float64)
        self.norms[sample] = node_gradient_norms(logits[picked], a[picked], self.graph.y[train[sample]]).double()
        self._scale = len(sample)
        self.p = mvs_probabilities(self.norms, self.batch_size)

    def sample(self, generator=None) -> MiniBatch:
        chosen = draw_batch(self.p, generator)
        self._chosen = chosen
        nodes = self.graph.train_idx[chosen]
        weights = importance_weights(self.p, chosen, scale=self._scale).float()
        if not self.use_history or self.history is None:
            return exact_minibatch(self.graph, nodes, weights, self.layers, self.coef)
        blocks = []
        for ell in range(self.layers):
            block = exact_block(self.graph, nodes, self.coef)  # src = [nodes, their other neighbours]
            blocks.append(block if ell == 0 else Block(block.dst, block.src, block.adj, len(nodes)))
        return MiniBatch(blocks, weights)

    def update(self, batch: MiniBatch, hidden: list, norms: torch.Tensor | None = None) -> None:
        """The batch's fresh hidden rows replace their history (the paper's ``H̄_{V_B} ← H̃_{V_B}``); on the fly,
        its nodes' gradient norms ``norms`` (``(b,)``, this step's) replace theirs and ``p`` is recomputed."""
        if self.on_the_fly and norms is not None and self.norms is not None and self._chosen is not None:
            self.norms[self._chosen] = norms.detach().double()
            self.p = mvs_probabilities(self.norms, self.batch_size)
        if self.history is None or not self.use_history:
            return
        for ell, h in enumerate(hidden):
            self.history[ell][batch.nodes] = h.detach()


SAMPLERS = {"full": FullBatch, "uniform": UniformNodes, "sage": NeighbourSampling, "ladies": Ladies,
            "saint": SaintRandomWalk, "mvs": MinimalVariance}


def make_sampler(name: str, graph: Graph, batch_size: int, layers: int = 2, **kwargs) -> Sampler:
    """``SAMPLERS[name](graph, batch_size, layers=layers, **kwargs)``; ``ValueError`` naming ``name`` if unknown."""
    if name not in SAMPLERS:
        raise ValueError(f"name: expected one of {list(SAMPLERS)}, got {name!r}")
    return SAMPLERS[name](graph, batch_size, layers=layers, **kwargs)
