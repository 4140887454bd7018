"""Encrypted traffic classification with a supervised spiking network (Rasteh, Delpech, Aguilar-Melchor, Zimmer,
Bagheri Shouraki, Masquelier, Neurocomputing 2022), from packet sizes and arrival times only.

* :mod:`.flows`: flows (sizes, times, class) from the shared ISCX data, a per-packet CSV, a pcap, or a generator;
* :mod:`.encoding`: a flow as a (time bins × size bins) image of packet counts, the paper's calibrated size bins;
* :mod:`.network`: the paper's network, one LIF hidden layer (:func:`kernels.lif`) and a leaky readout;
* :mod:`.baselines`: the non-spiking twin (MLP), a 1-D CNN on the raw sequence, gradient-boosted trees;
* :mod:`.training`: one training loop (Adam, balanced batches, plateau schedule, best held-out epoch);
* :mod:`.energy`: spikes and synaptic operations per flow against multiply-accumulates;
* :mod:`.experiments`: ``reproduce`` (quick in-process, the full grid on the runner);
* :mod:`.explorer`: the page (``Explorer``, loaded on first use: the core never imports the UI).
"""

from workbench.spiking_traffic.baselines import (RateMLP, SequenceCNN, fit_trees, raw_features, raw_sequence,
                                                 tree_comparisons, tree_nodes)
from workbench.spiking_traffic.encoding import SIZE_EDGES, TIME_SCALES, Encoding, calibrated_size_edges, encode
from workbench.spiking_traffic.energy import ENERGY_PJ, snn_costs
from workbench.spiking_traffic.experiments import reproduce
from workbench.spiking_traffic.flows import (CLASSES, Flows, check_flows, from_lists, load_iscx, read_packets_csv,
                                             read_pcap, synthetic_flows)
from workbench.spiking_traffic.network import SpikingNetwork
from workbench.spiking_traffic.training import TrainSettings, predict_logits, train

__all__ = ["CLASSES", "Flows", "check_flows", "from_lists", "load_iscx", "read_packets_csv", "read_pcap",
           "synthetic_flows", "SIZE_EDGES", "TIME_SCALES", "Encoding", "calibrated_size_edges", "encode",
           "SpikingNetwork", "RateMLP", "SequenceCNN", "raw_sequence", "raw_features", "fit_trees", "tree_nodes",
           "tree_comparisons", "TrainSettings", "train", "predict_logits", "snn_costs", "ENERGY_PJ", "reproduce",
           "Explorer", "warmup"]


def __getattr__(name):
    if name == "Explorer":
        from workbench.spiking_traffic.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Before the first visitor: load the flows the page starts from and the shipped network, and trace the first
    flow through it as the page does (the first forward loads the compiled LIF kernel: about 0.7 s and 100-190 MB
    of LLVM that the first visit would otherwise pay, and the server's memory would count as a session's)."""
    from workbench.spiking_traffic.page_data import page_encoding, starting_flows, trace_flow
    from workbench.spiking_traffic.pretrained import load_pretrained

    trace_flow(starting_flows(), 0, load_pretrained(), page_encoding(False))
