"""The topic registry: one ``Topic`` per slug. The app, the CLI and the tests iterate over it,
so adding a topic is adding one package and one line here."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Topic", "TOPICS", "get_topic", "slugs"]

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class Topic:
    """A registered topic: ``workbench/<slug>/`` with ``experiments.reproduce`` and ``Explorer``."""

    slug: str
    title: str
    claim: str  # one line shown in the gallery
    paper: str  # short reference
    url: str  # where the paper is

    @property
    def module(self):
        return importlib.import_module(f"workbench.{self.slug}")

    @property
    def reproduce(self):
        return importlib.import_module(f"workbench.{self.slug}.experiments").reproduce

    @property
    def explorer(self):
        return importlib.import_module(f"workbench.{self.slug}.explorer").Explorer

    @property
    def notebook(self) -> Path:
        return NOTEBOOKS / f"{self.slug}.ipynb"


TOPICS: dict[str, Topic] = {
    t.slug: t
    for t in [
        Topic(
            "nm_sparsity",
            "N:M sparsity for weights, activations and neural gradients",
            "Largest-magnitude N:M masks are fine for weights and activations but biased for neural "
            "gradients; the minimum-variance unbiased (MVUE) mask trains like dense.",
            "Chmiel, Hubara, Banner, Soudry. Minimum Variance Unbiased N:M Sparsity for the Neural Gradients. "
            "ICLR 2023",
            "https://arxiv.org/abs/2203.10991",
        ),
        Topic(
            "structure_learning",
            "LDS: learning discrete graph structure for GNNs",
            "Learn a Bernoulli distribution over the edges jointly with a GCN by a bilevel program; the "
            "learned graph beats the kNN graph it starts from.",
            "Franceschi, Niepert, Pontil, He. Learning Discrete Structures for Graph Neural Networks. ICML 2019",
            "https://arxiv.org/abs/1903.11960",
        ),
        Topic(
            "execution",
            "Hybrid continuous/discrete RL for optimal execution",
            "A continuous agent scopes a price range in basis points, a discrete agent picks the tick: "
            "limit-order execution that generalises across stocks, replayed on a real and a synthetic order book.",
            "Pan, Zhang, Luo, He, Liu. Learn Continuously, Act Discretely: Hybrid Action-Space Reinforcement "
            "Learning for Optimal Execution. IJCAI 2022",
            "https://arxiv.org/abs/2207.11152",
        ),
        Topic(
            "mesh_adaptation",
            "E2N: goal-oriented mesh adaptation for tidal farms",
            "Adapt the mesh to the farm's power with dual-weighted-residual error indicators, then let a small "
            "network estimate them without the enriched adjoint solve: the same accuracy, a fraction of the cost.",
            "Wallwork, Lu, Zhang, Piggott. E2N: Error Estimation Networks for Goal-Oriented Mesh Adaptation. 2022",
            "https://arxiv.org/abs/2207.11233",
        ),
        Topic(
            "pruning",
            "Pruning and growth: the sparsity survey's methods side by side",
            "Magnitude, gradual, movement, first- and second-order, structured, N:M and RigL on the same models at "
            "the same sparsities; gradual magnitude keeps dense accuracy at 80 %, random pruning collapses.",
            "Hoefler, Alistarh, Ben-Nun, Dryden, Peste. Sparsity in Deep Learning: Pruning and growth for efficient "
            "inference and training in neural networks. JMLR 2021",
            "https://arxiv.org/abs/2102.00554",
        ),
        Topic(
            "compression",
            "SQF: weights stored as sparse, quantized factors",
            "W ≈ Z·C with sparse rows of Z and both factors quantized: truncated SVD, vector quantization and "
            "pruning are its special cases, and at equal bits per weight it matches or beats the best of them.",
            "Kuzmin, van Baalen, Nagel, Behboodi. Quantized Sparse Weight Decomposition for Neural Network "
            "Compression. 2022",
            "https://arxiv.org/abs/2207.11048",
        ),
        Topic(
            "gnn_sampling",
            "MVS-GNN: minimal-variance sampling for GNN training",
            "A sampled GNN's gradient is noisy twice, in which nodes a batch holds and in how their neighbours are "
            "approximated; drawing nodes in proportion to their gradient norm minimises the first.",
            "Cong, Forsati, Kandemir, Mahdavi. Minimal Variance Sampling with Provable Guarantees for Fast Training "
            "of Graph Neural Networks. KDD 2020",
            "https://arxiv.org/abs/2006.13866",
        ),
        Topic(
            "aux_weighting",
            "AUX-TS: meta-learned weights for auxiliary tasks",
            "Self-supervised tasks help a GNN's target task only when weighted well: a small network learns each "
            "example's weight so that one step on the weighted loss lowers the target's loss on held-out nodes.",
            "Han, Huang, An, Bai. Adaptive Transfer Learning on Graph Neural Networks. KDD 2021",
            "https://arxiv.org/abs/2107.08765",
        ),
        Topic(
            "implicit_processes",
            "Sparse Implicit Processes: predictive distributions a GP cannot give",
            "An implicit prior (a BNN, a neural sampler, a physical model) with inducing points and an implicit "
            "posterior gives bimodal and input-dependent predictive distributions, and corrects a wrong model.",
            "Santana, Zaldívar, Hernández-Lobato. Function-space Inference with Sparse Implicit Processes. ICML 2022",
            "https://arxiv.org/abs/2110.07618",
        ),
        Topic(
            "spiking_traffic",
            "A spiking network classifies encrypted traffic",
            "One layer of leaky integrate-and-fire neurons, trained with surrogate gradients, tells VoIP, video, "
            "file transfer, chat and browsing apart from packet sizes and arrival times alone, with few spikes.",
            "Rasteh, Delpech, Aguilar-Melchor, Zimmer, Bagheri Shouraki, Masquelier. Encrypted internet traffic "
            "classification using a supervised spiking neural network. Neurocomputing 2022",
            "https://arxiv.org/abs/2101.09818",
        ),
        Topic(
            "sobolev_inr",
            "Sobolev training of implicit neural representations",
            "Supervising a network's derivatives as well as its values, with image derivatives from finite-difference "
            "filters, makes a SIREN fitted on a sixteenth of the pixels better on the rest, and lets it rebuild an "
            "image from its gradients alone or clone one image seamlessly into another.",
            "Yuan, Zhu, Liu, Ding, Zhang, Zhang. Sobolev Training for Implicit Neural Representations with "
            "Approximated Image Derivatives. ECCV 2022",
            "https://arxiv.org/abs/2207.10395",
        ),
    ]
}


def slugs() -> list[str]:
    return list(TOPICS)


def get_topic(slug: str) -> Topic:
    """The topic ``slug``; ``ValueError`` listing the valid slugs otherwise."""
    if slug not in TOPICS:
        raise ValueError(f"slug: expected one of {', '.join(TOPICS)}, got {slug!r}")
    return TOPICS[slug]
