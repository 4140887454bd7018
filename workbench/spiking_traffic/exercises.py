"""The notebook's "try this" exercises, checked against the library (:mod:`workbench.exercises`): the truths come from
:func:`kernels.lif`, :func:`kernels.lif.surrogate_derivative`, :meth:`.baselines.RateMLP.macs_per_sample` and
:data:`.energy.ENERGY_PJ`, so no number is typed in twice."""

from __future__ import annotations

import math

import torch

from kernels import SURROGATES, lif
from kernels.lif import surrogate_derivative
from workbench.exercises import exercise, is_close
from workbench.spiking_traffic.baselines import RateMLP
from workbench.spiking_traffic.encoding import Encoding
from workbench.spiking_traffic.energy import ENERGY_PJ
from workbench.spiking_traffic.flows import CLASSES

__all__ = ["CURRENT", "BETA", "THRESHOLD", "STEPS", "SPIKE_CURRENT", "SPIKE_BETA", "SLOPE", "HIDDEN"]

# one neuron, a constant current below the threshold: it never fires; the membrane after STEPS steps (t = 0 .. STEPS-1)
CURRENT, BETA, THRESHOLD, STEPS = 0.5, 0.8, 1.0, 5
# the same neuron (THRESHOLD) driven above it: the step t (from 0) of its first spike
SPIKE_CURRENT, SPIKE_BETA = 1.5, 0.9
# the surrogates' height at x = 0 (where the membrane is exactly at the threshold), slope a = SLOPE
SLOPE = 10.0
# the non-spiking twin: hidden units, on the default encoding (time steps × size bins), for the energy of one flow
HIDDEN = 100


def _run(current: float, beta: float, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes and membrane ``(steps,)`` of one neuron under a constant ``current``, threshold ``THRESHOLD``."""
    d = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    spikes, membrane = lif(torch.full((1, steps, 1), current, dtype=torch.float64), d(beta), d(THRESHOLD))
    return spikes[0, :, 0], membrane[0, :, 0]


def _number(answer) -> float:
    try:
        return float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"expected a number, got {type(answer).__name__}") from None


@exercise("spiking_traffic.membrane",
          hint="with no spike the membrane is the leaky integral v_t = (1 − β) Σ_{k≤t} β^(t−k) I: a geometric sum "
               "of as many terms as steps")
def _membrane(answer):
    spikes, membrane = _run(CURRENT, BETA, STEPS + 1)
    if spikes.any():
        raise RuntimeError("spiking_traffic.membrane: the neuron fires; the exercise expects it below the threshold")
    value = _number(answer)
    if value > CURRENT:
        return "the membrane of a leaky neuron never passes its constant input current; check the (1 − β) factor"
    if is_close(value, float(membrane[STEPS]), rel=1e-4):
        return "that is one step too many: v_0 = (1 − β) I is already the first step"
    if STEPS >= 2 and is_close(value, float(membrane[STEPS - 2]), rel=1e-4):
        return "that is one step too few: the steps are t = 0, 1, …, counting v_0 as the first"
    return is_close(value, float(membrane[STEPS - 1]), rel=1e-4)


def _first_spike() -> int:
    steps = 1
    while True:  # long enough to hold the first spike (it comes, the current being above the threshold)
        steps *= 2
        spikes, _ = _run(SPIKE_CURRENT, SPIKE_BETA, steps)
        if spikes.any():
            return int(spikes.nonzero()[0, 0])


@exercise("spiking_traffic.first_spike",
          hint="before the first spike v_t = I (1 − β^(t+1)); find the smallest t (from 0) at which it is strictly "
               "above the threshold")
def _first_spike_exercise(answer):
    value = _number(answer)
    if not math.isfinite(value) or value != int(value) or value < 0:
        return "the answer is a time step: a whole number t >= 0"
    truth = _first_spike()
    if int(value) == truth + 1:
        return "one step late: count the steps from t = 0"
    return int(value) == truth


@exercise("spiking_traffic.surrogate_peaks",
          hint=f"each g(x) is largest at x = 0: put x = 0 in the three formulas with a = {SLOPE:g}; σ(0) = 1/2")
def _surrogate_peaks(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != len(SURROGATES):
        return f"expected {len(SURROGATES)} numbers, g(0) of {', '.join(SURROGATES)} in that order, got {answer!r}"
    if any(a is None or a is Ellipsis for a in answer):
        return "replace each ... with a number, then run the cell again"
    zero = torch.zeros(1, dtype=torch.float64)
    truths = [float(surrogate_derivative(zero, name, SLOPE)[0]) for name in SURROGATES]
    wrong = [name for name, a, t in zip(SURROGATES, answer, truths) if not is_close(_number(a), t, rel=1e-4)]
    if wrong:
        return f"not yet for {', '.join(wrong)}: put x = 0 in g(x) with a = {SLOPE:g}; σ(0) = 1/2"
    return True


def mlp_energy_uj() -> float:
    """The non-spiking twin's energy for one flow of the default encoding, in microjoules."""
    enc = Encoding()
    macs = RateMLP(enc.n_sizes, HIDDEN, len(CLASSES)).macs_per_sample(enc.n_bins)
    return macs * ENERGY_PJ["multiply_accumulate"] * 1e-6


@exercise("spiking_traffic.mlp_energy",
          hint="every time step multiplies all the size bins by all the hidden weights (T · S · H), then the readout "
               "adds H · C once; multiply by the picojoules of one multiply-accumulate and convert pJ to µJ")
def _mlp_energy(answer):
    value = _number(answer)
    truth = mlp_energy_uj()
    for scale, unit in ((1e6, "pJ"), (1e3, "nJ"), (1e-3, "mJ")):
        if is_close(value, truth * scale, rel=1e-3):
            return f"right number, wrong unit: that is in {unit}; give it in µJ"
    return is_close(value, truth, rel=1e-3)
