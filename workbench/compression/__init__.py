"""Weights stored as sparse, quantized matrix factors (SQF; Kuzmin, van Baalen, Nagel, Behboodi 2022), against
quantized SVD, vector quantization, sparse PCA, uniform quantization and magnitude pruning + quantization at
equal bits per weight.

* :mod:`.storage`: the bits-per-weight accountant all methods share;
* :mod:`.quantize`: the projection onto the quantization grid (fitted scales);
* :mod:`.shapes`: the reshaping rule (rows of a weight, sub-vectors);
* :mod:`.sqf`: :class:`SparseQuantizedFactorization`;
* :mod:`.baselines`: the baselines, each a small estimator;
* :mod:`.budget`: every method at a storage budget (its best configuration that fits);
* :mod:`.frontier`: every method on every layer of a trained model at several budgets;
* :mod:`.model`: whole models compressed, SQF's factors fine-tuned with their supports fixed;
* :mod:`.experiments`: ``reproduce`` (quick in-process, the full grid on the runner);
* :mod:`.sizes`: model sizes in bits for the size/accuracy picture shared with the ``pruning`` topic;
* :mod:`.exercises`: the notebook's checked exercises.

``Explorer`` (the dashboard) is imported lazily so that core users never load Panel.

The op that computes ``x (Z C)ᵀ`` from the quantized factors without building ``W`` is
:func:`kernels.factorized_linear`.
"""

from workbench.compression.baselines import (BASELINES, PrunedQuantization, QuantizedSVD, SparsePCACompression,
                                             UniformQuantization, VectorQuantization)
from workbench.compression.budget import METHODS, compress_at_budget
from workbench.compression.experiments import reproduce
from workbench.compression.sqf import SparseQuantizedFactorization
from workbench.compression.storage import Storage

__all__ = ["SparseQuantizedFactorization", "UniformQuantization", "PrunedQuantization", "QuantizedSVD",
           "VectorQuantization", "SparsePCACompression", "BASELINES", "METHODS", "compress_at_budget", "Storage",
           "reproduce", "Explorer", "warmup"]


def __getattr__(name):
    if name == "Explorer":
        from workbench.compression.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Train the digits MLP and compress the default page's setting (layer 2, SQF, 2 bits per weight) once, before
    the first visitor."""
    from workbench.compression.explorer import DEFAULT, layer_fit

    layer_fit(*DEFAULT)
