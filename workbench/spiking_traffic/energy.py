"""What a classification costs, counted rather than assumed (the energy proxy of SNN papers).

* SNN, event-driven: each non-empty input bin (a (time step, size bin) with packets) sends its count to the ``H``
  hidden neurons — ``H`` synaptic operations — and each hidden spike to the ``C`` readout neurons — ``C``
  operations: ``ops = events · H + spikes · C`` per flow. On neuromorphic hardware an operation is an
  accumulate (an add), cheaper than a multiply-accumulate (about 0.9 pJ against 4.6 pJ for 32-bit float in 45 nm,
  Horowitz, ISSCC 2014);
* MLP and CNN: dense multiply-accumulates per flow (:meth:`RateMLP.macs_per_sample`,
  :meth:`SequenceCNN.macs_per_sample`);
* trees: comparisons per flow (:func:`baselines.tree_comparisons`).
"""

from __future__ import annotations

import torch

from workbench.spiking_traffic.network import SpikingNetwork

__all__ = ["snn_costs", "ENERGY_PJ"]

#: energy per operation in picojoules, 32-bit float, 45 nm (Horowitz, ISSCC 2014): add 0.9, multiply 3.7
ENERGY_PJ = {"accumulate": 0.9, "multiply_accumulate": 4.6}


@torch.no_grad()
def snn_costs(model: SpikingNetwork, x: torch.Tensor, batch_size: int = 1024) -> dict:
    """Per flow, averaged over ``x`` ``(N, T, S)``: ``spikes_per_sample`` (hidden spikes), ``input_events``
    (non-empty input bins), ``ops_per_sample`` (synaptic operations), ``spikes_per_neuron`` ``(H,)``."""
    spikes_total, events, per_neuron = 0.0, 0.0, torch.zeros(model.hidden)
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        spikes, _ = model.hidden_layer(xb)
        spikes_total += float(spikes.sum())
        per_neuron += spikes.sum((0, 1))
        events += float((xb > 0).sum())
    n = len(x)
    spikes_ps, events_ps = spikes_total / n, events / n
    return {"spikes_per_sample": spikes_ps, "input_events": events_ps,
            "ops_per_sample": events_ps * model.hidden + spikes_ps * model.n_classes,
            "spikes_per_neuron": (per_neuron / n).tolist()}
