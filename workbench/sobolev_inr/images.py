"""The images of the topic: Set5 (the paper's) and scikit-image's camera, astronaut and coffee (bundled, no data
folder), as float arrays ``(H, W, C)`` in ``[0, 1]``; the regression split (every ``stride``-th pixel in each
direction for training, the rest for testing) and the luma used for PSNR.
"""

from __future__ import annotations

import functools

import numpy as np

from workbench.checks import check_int

__all__ = ["SET5", "BUNDLED", "IMAGES", "load_image", "check_image", "check_stride", "train_mask", "luma", "crop",
           "to_gray"]

SET5 = ("baby", "bird", "butterfly", "head", "woman")
BUNDLED = ("camera", "astronaut", "coffee")
IMAGES = SET5 + BUNDLED
#: the paper's luma (ITU-R BT.601 on [0, 1] without the offset of 16/255), as in the released evaluation
LUMA = np.array([0.257, 0.504, 0.098])


def check_image(image, name: str = "image") -> np.ndarray:
    """``image`` as a float64 array ``(H, W, C)`` with ``C`` in {1, 3} and values in ``[0, 1]`` (a 2-D array is
    one channel); anything else is refused naming ``name``."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array (H, W) or (H, W, C), got {type(image).__name__}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"{name}: expected shape (H, W), (H, W, 1) or (H, W, 3), got {image.shape}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"{name}: expected at least 2x2 pixels, got {image.shape[:2]}")
    if not (np.issubdtype(image.dtype, np.floating) or np.issubdtype(image.dtype, np.integer)):
        raise TypeError(f"{name}: expected a numeric array, got dtype {image.dtype}")
    out = image.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError(f"{name}: expected finite values in [0, 1], got NaN or inf")
    if out.min() < 0 or out.max() > 1:
        raise ValueError(f"{name}: expected values in [0, 1] (scale 8-bit images by 1/255), got range "
                         f"[{out.min():g}, {out.max():g}]")
    return out


def check_stride(shape: tuple[int, int], stride: int) -> int:
    """``stride`` as an int >= 1 that divides both sides of ``shape`` (the paper's sampling needs it)."""
    check_int("stride", stride, 1)
    h, w = shape[:2]
    if h % stride or w % stride:
        raise ValueError(f"stride: expected a divisor of the image's height and width {h}x{w}, got {stride} "
                         f"(crop the image to a multiple first, e.g. crop(image, ({h - h % stride}, "
                         f"{w - w % stride})))")
    return stride


def crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The centred ``size = (h, w)`` crop of ``image``."""
    image = check_image(image)
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise TypeError(f"size: expected a pair (h, w), got {size!r}")
    h, w = (check_int("size", s, 2) for s in size)
    if h > image.shape[0] or w > image.shape[1]:
        raise ValueError(f"size: expected at most the image's {image.shape[:2]}, got {(h, w)}")
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return image[top:top + h, left:left + w]


def to_gray(image: np.ndarray) -> np.ndarray:
    """One channel ``(H, W, 1)``: the mean of the colour channels (a grey image is returned as is)."""
    image = check_image(image)
    return image if image.shape[2] == 1 else image.mean(axis=2, keepdims=True)


def luma(image: np.ndarray) -> np.ndarray:
    """``(H, W)``: the paper's Y channel ``0.257 R + 0.504 G + 0.098 B`` of a colour image; a grey image's only
    channel."""
    image = check_image(image)
    return image[:, :, 0] if image.shape[2] == 1 else image @ LUMA


def train_mask(shape: tuple[int, int], stride: int) -> np.ndarray:
    """Bool ``(H, W)``: True on the training pixels, every ``stride``-th row and column from ``(0, 0)`` (the
    paper's nearest-neighbour decimation); the test pixels are the rest."""
    check_stride(shape, stride)
    mask = np.zeros(shape[:2], dtype=bool)
    mask[::stride, ::stride] = True
    return mask


@functools.lru_cache(maxsize=16)
def _load(name: str) -> np.ndarray:
    if name in BUNDLED:
        from skimage import data

        image = getattr(data, name)()
    else:
        from PIL import Image

        from workbench.data import find

        with Image.open(find("set5") / f"{name}.png") as im:
            image = np.asarray(im.convert("RGB"))
    out = image.astype(np.float64) / 255.0
    out = out[:, :, None] if out.ndim == 2 else out
    h, w = out.shape[0] - out.shape[0] % 4, out.shape[1] - out.shape[1] % 4  # coffee 400x600 already is
    out = np.ascontiguousarray(out[:h, :w])
    out.setflags(write=False)
    return out


def load_image(name: str, gray: bool = False) -> np.ndarray:
    """The image ``name`` (one of :data:`IMAGES`) as a read-only float array ``(H, W, C)`` in ``[0, 1]``, cropped
    at the bottom and right to a multiple of 4 (the paper's stride); ``gray``: one channel (the mean). Set5 comes
    from the ``set5`` data set (:func:`workbench.data.find`), the others from scikit-image."""
    if name not in IMAGES:
        raise ValueError(f"name: expected one of {IMAGES}, got {name!r}")
    image = _load(name)
    return to_gray(image) if gray else image
