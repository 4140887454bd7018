"""MNIST for the topics that train on images (pruning, compression): the official test set's 10,000 digits (the
training file is not shipped offline), split into training and test sets.

IDX format (LeCun et al.): images ``>IIII`` magic 2051, count, rows, cols, then uint8 pixels; labels ``>II`` magic
2049, count, then uint8 labels. Both gzipped.
"""

from __future__ import annotations

import functools
import gzip
import struct

import numpy as np
import torch

from workbench.checks import check_int
from workbench.classification import Split
from workbench.data import find

__all__ = ["read_idx_images", "read_idx_labels", "mnist_data", "MNIST_MEAN", "MNIST_STD"]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the usual normalisation of MNIST pixels in [0, 1]


def read_idx_images(raw: bytes) -> np.ndarray:
    """``(N, rows, cols)`` uint8 from an (uncompressed) IDX image file; ValueError on a malformed one."""
    if len(raw) < 16:
        raise ValueError(f"raw: expected an IDX image file (16-byte header), got {len(raw)} bytes")
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 2051 or len(raw) != 16 + n * rows * cols:
        raise ValueError(f"raw: expected IDX images (magic 2051, {16 + n * rows * cols} bytes), got magic {magic} "
                         f"and {len(raw)} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols)


def read_idx_labels(raw: bytes) -> np.ndarray:
    """``(N,)`` uint8 from an (uncompressed) IDX label file; ValueError on a malformed one."""
    if len(raw) < 8:
        raise ValueError(f"raw: expected an IDX label file (8-byte header), got {len(raw)} bytes")
    magic, n = struct.unpack(">II", raw[:8])
    if magic != 2049 or len(raw) != 8 + n:
        raise ValueError(f"raw: expected IDX labels (magic 2049, {8 + n} bytes), got magic {magic} and "
                         f"{len(raw)} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=8)


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    folder = find("mnist")
    images = read_idx_images(gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes()))
    labels = read_idx_labels(gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    if len(images) != len(labels):
        raise ValueError(f"mnist: {len(images)} images but {len(labels)} labels")
    return images, labels


def mnist_data(seed: int = 0, test_size: int = 2000, train_size: int | None = None) -> Split:
    """MNIST's 10,000 test digits split stratified into ``train_size`` (default: the rest) and ``test_size``
    digits; pixels scaled to [0, 1] and normalised by the usual MNIST mean and standard deviation. ``x_*``:
    ``(N, 1, 28, 28)`` float32."""
    from sklearn.model_selection import train_test_split

    check_int("seed", seed, 0)
    check_int("test_size", test_size, 10)
    images, labels = _mnist_arrays()
    if test_size > len(images) - 10:
        raise ValueError(f"test_size: expected at most {len(images) - 10}, got {test_size}")
    rest = len(images) - test_size
    if train_size is None:
        train_size = rest
    check_int("train_size", train_size, 10)
    if train_size > rest:
        raise ValueError(f"train_size: expected at most {rest} (10,000 digits minus test_size), got {train_size}")
    idx = np.arange(len(images))
    tr, te = train_test_split(idx, test_size=test_size, stratify=labels, random_state=seed)
    if train_size < len(tr):
        tr, _ = train_test_split(tr, train_size=train_size, stratify=labels[tr], random_state=seed)
    x = (torch.tensor(images, dtype=torch.float32) / 255.0 - MNIST_MEAN) / MNIST_STD  # a copy: frombuffer is read-only
    x = x.unsqueeze(1)
    y = torch.as_tensor(labels.astype(np.int64))
    return Split(x[tr], y[tr], x[te], y[te])
