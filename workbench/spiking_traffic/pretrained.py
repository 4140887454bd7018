"""Two small trained networks shipped with the package, so that the page and the notebook show a network that has
learnt something before anyone trains one (and without the data): one on the paper's size bins, one on the size
bins and the gaps between packets.

Both hold, beside the ``state_dict`` of a :class:`SpikingNetwork` with 100 hidden LIF neurons (sigmoid surrogate),
how they were made: the encoding (log time axis, 100 steps from 1 ms to 10^4 s, the 150 calibrated size bins), the
training settings and their accuracy. Both were made the same way, by ``python -m workbench.spiking_traffic.pretrained
[--gaps]`` (with ``WORKBENCH_DATA`` pointing at the shared data): :func:`workbench.spiking_traffic.training.train` on
the 12,922 ISCX training flows (10 % held out to choose the epoch), 8 epochs, seed 0, the default
:class:`TrainSettings` otherwise, on two CPU cores.

* ``snn_hidden100.pt`` (66 kB, ``gaps=False``): 150 inputs, the size bins (64 s). The best held-out epoch was the
  third (held-out accuracy 89.3 %); on the 1,291 validation flows it scores **88.5 %** (the quick run's SNN, 5
  epochs of the same seed, keeps the same epoch and scores the same).
* ``snn_hidden100_gaps.pt`` (86 kB, ``gaps=True``): 200 inputs, ``Encoding(gap_bins=50)``: the size bins, then 50
  bins of each packet's gap to the previous one (geometric from 10 µs to 1,000 s); 447 s on two CPU cores
  shared with other jobs. The best held-out epoch was the seventh (held-out accuracy 95.4 %); on the 1,291
  validation flows it scores **93.9 %** (the full run's gap variant: 94.9 ± 0.6 % over 3 seeds of 20 epochs).

:func:`info` gives the figures of a file as shipped. The shipped full run's SNNs (``docs/results/spiking_traffic.json``,
the ``main`` and ``gaps`` variants) train longer, over three seeds: their figures are the reference.
"""

from __future__ import annotations

import argparse
import functools
import time
from dataclasses import asdict
from pathlib import Path

import torch

from workbench.spiking_traffic.encoding import Encoding, encode
from workbench.spiking_traffic.flows import CLASSES, load_iscx
from workbench.spiking_traffic.network import SpikingNetwork
from workbench.spiking_traffic.training import TrainSettings, predict_logits, train

__all__ = ["WEIGHTS", "WEIGHTS_GAPS", "HIDDEN", "EPOCHS", "SEED", "GAP_BINS", "weights", "load_pretrained", "info",
           "pretrained_encoding", "make", "main"]

WEIGHTS = Path(__file__).resolve().with_name("snn_hidden100.pt")  # size bins (the paper's inputs)
WEIGHTS_GAPS = WEIGHTS.with_name("snn_hidden100_gaps.pt")  # size bins + gap bins
HIDDEN, EPOCHS, SEED = 100, 8, 0
GAP_BINS = 50  # the gap network's gap inputs (the full run's ``gaps`` variant: docs/spiking_traffic.md)


def _check_gaps(gaps) -> bool:
    if not isinstance(gaps, bool):
        raise TypeError(f"gaps: expected True (size and gap bins) or False (size bins), got {gaps!r}")
    return gaps


def weights(gaps: bool = False) -> Path:
    """The shipped file: ``snn_hidden100.pt`` (size bins) or ``snn_hidden100_gaps.pt`` (``gaps``)."""
    return WEIGHTS_GAPS if _check_gaps(gaps) else WEIGHTS


@functools.lru_cache(maxsize=2)
def _blob(gaps: bool) -> dict:
    path = weights(gaps)
    if not path.is_file():
        raise FileNotFoundError(f"{path.name}: the shipped weights are missing from the package; make them with "
                                f"python -m workbench.spiking_traffic.pretrained{' --gaps' if gaps else ''}")
    return torch.load(path, map_location="cpu", weights_only=True)


def info(gaps: bool = False) -> dict:
    """How a shipped network was made (``gaps``: the one with gap inputs): ``hidden``, ``surrogate``, ``n_inputs``,
    ``encoding`` (the :class:`Encoding`'s fields), ``settings`` (the :class:`TrainSettings`' fields), ``n_train``,
    ``valid_accuracy`` (held-out), ``test_accuracy`` (the 1,291 validation flows), ``history`` (held-out accuracy
    per epoch)."""
    return {k: v for k, v in _blob(_check_gaps(gaps)).items() if k != "state_dict"}


def pretrained_encoding(gaps: bool = False) -> Encoding:
    """The encoding a shipped network was trained with (its inputs must be encoded the same way)."""
    return Encoding(**info(gaps)["encoding"])


def load_pretrained(gaps: bool = False) -> SpikingNetwork:
    """A shipped network (``gaps``: the one with gap inputs), in evaluation mode (cached: one object per process and
    kind, shared; do not train it, copy it with ``copy.deepcopy`` first)."""
    return _load(_check_gaps(gaps))


@functools.lru_cache(maxsize=2)
def _load(gaps: bool) -> SpikingNetwork:
    blob = _blob(gaps)
    model = SpikingNetwork(blob["n_inputs"], blob["hidden"], len(CLASSES), surrogate=blob["surrogate"])
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model


def make(epochs: int = EPOCHS, seed: int = SEED, progress=None, gaps: bool = False) -> dict:
    """Train the network (``gaps``: on ``Encoding(gap_bins=GAP_BINS)``, else on the size bins) on the ISCX training
    flows and score it on the validation flows: the blob that :func:`main` saves (``state_dict`` and :func:`info`'s
    keys)."""
    enc = Encoding(gap_bins=GAP_BINS) if _check_gaps(gaps) else Encoding()
    train_flows, val_flows = load_iscx("train"), load_iscx("val")
    x = encode(train_flows, enc)
    torch.manual_seed(seed)
    model = SpikingNetwork(x.shape[2], HIDDEN, len(CLASSES), seed=seed)
    settings = TrainSettings(epochs=epochs, seed=seed)
    history = train(model, x, train_flows.labels, settings, progress=progress)
    del x
    predicted = predict_logits(model, encode(val_flows, enc)).argmax(1).numpy()
    best = max(h["valid_accuracy"] for h in history)
    return {"state_dict": model.state_dict(), "n_inputs": model.n_inputs, "hidden": model.hidden,
            "surrogate": model.surrogate, "encoding": asdict(enc), "settings": asdict(settings),
            "n_train": len(train_flows), "valid_accuracy": float(best),
            "test_accuracy": float((predicted == val_flows.labels).mean()),
            "history": [round(h["valid_accuracy"], 4) for h in history]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.spiking_traffic.pretrained",
                                description=f"Train and save a shipped network of the page ({WEIGHTS.name}, or "
                                            f"{WEIGHTS_GAPS.name} with --gaps).")
    p.add_argument("--gaps", action="store_true", help=f"the network with {GAP_BINS} gap inputs after the size bins")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--out", type=Path, default=None, help=f"where to save it (default: {WEIGHTS.name}, or "
                   f"{WEIGHTS_GAPS.name} with --gaps, of the package)")
    args = p.parse_args(argv)
    out = args.out or weights(args.gaps)
    t0 = time.perf_counter()
    blob = make(args.epochs, args.seed, progress=lambda r: print(
        f"epoch {r['epoch']}/{args.epochs}: loss {r['loss']:.3f}, held-out accuracy {r['valid_accuracy']:.3f}",
        flush=True), gaps=args.gaps)
    torch.save(blob, out)
    print(f"{out}: validation accuracy {blob['test_accuracy']:.4f} (held-out {blob['valid_accuracy']:.4f}), "
          f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
