"""One size/accuracy picture across the sparsity topics: a model's weights in bits, whoever compressed them.

Every point is ``(size_bits, test_accuracy)`` for the weights of the model's Linear and Conv2d layers (biases are
few and kept in fp32 by everyone, so they are left out), counted by the shared accountant
(:mod:`workbench.compression.storage`):

* this topic's ``"all"`` rows: ``bits_per_weight × weights``, as each method stores them;
* the ``pruning`` topic's rows: the surviving weights in fp32 plus their positions (per row the cheaper of a list
  and a bitmap; each layer's survivors spread evenly over its rows, which is exact for N:M patterns and for
  per-row pruning and a close estimate otherwise); a dense model is 32 bits per weight.
"""

from __future__ import annotations

from torch import nn

from workbench.compression.shapes import weight_matrix
from workbench.compression.storage import FLOAT_BITS, Storage, sparse_values

__all__ = ["layer_shapes", "pruned_bits", "compression_points", "pruning_points", "PRUNING_SHOWN"]

#: the pruning topic's methods drawn on the shared picture (the issue's magnitude pruning and N:M, and the dense
#: model they start from)
PRUNING_SHOWN = ("dense", "oneshot_global", "gradual_magnitude", "nm")


def layer_shapes(net) -> dict[str, tuple[int, int]]:
    """``{layer name: (rows, row length)}`` of the Linear and Conv2d weights of ``net`` as matrices."""
    return {name: tuple(weight_matrix(m.weight.detach()).shape) for name, m in net.named_modules()
            if isinstance(m, (nn.Linear, nn.Conv2d))}


def pruned_bits(shapes: dict[str, tuple[int, int]], layer_sparsity: dict[str, float]) -> Storage:
    """The storage of a pruned model: per layer ``(n, d)`` at sparsity ``p`` (0 where not listed),
    ``round((1 - p) d)`` fp32 weights per row and their positions."""
    total = Storage(0)
    for name, (n, d) in shapes.items():
        p = float(layer_sparsity.get(name, 0.0))
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"layer_sparsity: expected fractions in [0, 1], got {p} for layer {name!r}")
        kept = int(round((1 - p) * d))
        total = total + Storage(n * d) + sparse_values(n, d, kept, FLOAT_BITS, 0)
    return total


def compression_points(rows: list[dict], model: str) -> list[dict]:
    """``[{"source": "compression", "method", "budget", "size_bits", "test_accuracy", "before_finetune"}]`` from a
    compression run's ``"all"`` rows of ``model`` (those that have a size)."""
    out = []
    for r in rows:
        if r["model"] != model or r["layer"] != "all" or r.get("bits_per_weight") is None:
            continue
        weights = r.get("weights")
        if weights is None:
            raise ValueError(f"rows: an 'all' row of {model!r} without its 'weights' count: {r}")
        out.append({"source": "compression", "method": r["method"], "budget": r["budget"],
                    "size_bits": r["bits_per_weight"] * weights, "test_accuracy": r["test_accuracy"],
                    "before_finetune": r.get("test_accuracy_before_finetune")})
    return sorted(out, key=lambda p: (p["method"], p["size_bits"]))


def pruning_points(rows: list[dict], model: str, shapes: dict[str, tuple[int, int]],
                   methods=PRUNING_SHOWN) -> list[dict]:
    """``[{"source": "pruning", "method", "sparsity", "size_bits", "test_accuracy"}]`` from the pruning topic's
    results of ``model`` (its methods in ``methods``), sized by :func:`pruned_bits`."""
    out = []
    for r in rows:
        if r["model"] != model or r["method"] not in methods:
            continue
        storage = pruned_bits(shapes, r.get("layer_sparsity") or {})
        out.append({"source": "pruning", "method": r["method"], "sparsity": r["sparsity"],
                    "size_bits": storage.bits, "test_accuracy": r["test_accuracy"]})
    return sorted(out, key=lambda p: (p["method"], p["size_bits"]))
