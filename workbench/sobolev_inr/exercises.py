"""The checked exercises of ``notebooks/sobolev_inr.ipynb`` (:mod:`workbench.exercises`).

Each checker computes the truth from the library: the filters' derivatives from :func:`kernels.image_gradients`,
the units factor from the ``scale`` buffer of :class:`.networks.INR`, a SIREN neuron's derivative from
:meth:`.networks.INR.value_and_gradient` of a one-neuron network. The data an exercise is about is defined here once,
and the notebook shows it from here.

* ``sobolev_inr.sobel_dx``: the normalised Sobel filter's ``∂I/∂x`` at the centre of :data:`NEIGHBOURHOOD`;
* ``sobolev_inr.units``: ``∂f/∂x`` in intensity per pixel of a network whose derivative with respect to its
  normalised input ``u = 2x/(W − 1) − 1`` is :data:`DF_DU`, for an image of :data:`SHAPE`;
* ``sobolev_inr.siren_neuron``: ``d/dx sin(ω₀ (w u + b))`` per pixel at ``x =`` :data:`NEURON_X`;
* ``sobolev_inr.blind_spot``: what the central difference and the Sobel filter give for ``∂I/∂x`` of
  ``I(x, y) = x (−1)^y`` (:func:`alternating_ramp`), whose true ``∂I/∂x`` is ``±1``.
"""

from __future__ import annotations

import math

import torch

from kernels import image_gradients
from workbench.exercises import exercise, is_close
from workbench.sobolev_inr.networks import INR

__all__ = ["NEIGHBOURHOOD", "SHAPE", "DF_DU", "OMEGA0", "NEURON_W", "NEURON_B", "NEURON_X", "BLIND_SIZE",
           "BLIND_PIXEL", "sobel_dx", "central_dx", "pixel_factor", "neuron", "siren_neuron_slope",
           "alternating_ramp", "blind_spot"]

#: a 3×3 neighbourhood of an image (rows top to bottom = y, columns left to right = x), intensity in grey levels
NEIGHBOURHOOD = ((1.0, 2.0, 6.0),
                 (0.0, 3.0, 8.0),
                 (2.0, 4.0, 4.0))
#: the image ``(H, W)`` of the units and the SIREN-neuron exercises, and ``∂f/∂u`` of the units exercise
SHAPE, DF_DU = (48, 64), 6.3
#: one SIREN neuron ``sin(ω₀ (w u + b))`` of the normalised abscissa ``u``, and the pixel abscissa it is asked at
OMEGA0, NEURON_W, NEURON_B, NEURON_X = 30.0, 0.5, 0.1, 31.5
#: the alternating ramp's side and the (row y, column x) the blind-spot exercise asks about (an interior, even row)
BLIND_SIZE, BLIND_PIXEL = 6, (2, 3)


def _number(answer) -> float:
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"expected a number, got {type(answer).__name__}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def _filter(image, kind: str) -> torch.Tensor:
    """``(2, H, W)``: ``kind``'s ``(∂x, ∂y)`` of ``image`` (float64)."""
    return image_gradients(torch.as_tensor(image, dtype=torch.float64), kind)


def sobel_dx() -> float:
    """The normalised Sobel ``∂I/∂x`` at the centre of :data:`NEIGHBOURHOOD`."""
    return float(_filter(NEIGHBOURHOOD, "sobel")[0, 1, 1])


def central_dx() -> float:
    """The central difference's ``∂I/∂x`` at the centre of :data:`NEIGHBOURHOOD`."""
    return float(_filter(NEIGHBOURHOOD, "central")[0, 1, 1])


@exercise("sobolev_inr.sobel_dx",
          hint="∂x is a difference along the row (right minus left), taken in the row above, the row itself and the "
               "row below with weights 1, 2, 1, and divided by 8 (the sum of the kernel's absolute values)")
def _sobel_dx(answer):
    value = _number(answer)
    truth, sobel_dy = sobel_dx(), float(_filter(NEIGHBOURHOOD, "sobel")[1, 1, 1])
    if is_close(value, 8 * truth, rel=1e-4):
        return "that is the plain Sobel kernel's response: the normalised filter divides it by 8, so that a ramp of " \
               "slope a gives a (intensity per pixel)"
    if is_close(value, -truth, rel=1e-4):
        return "the sign: ∂x is the right column minus the left one (x grows to the right)"
    if is_close(value, central_dx(), rel=1e-4):
        return "that is the central difference of the middle row alone; Sobel also takes the rows above and below, " \
               "with weights 1, 2, 1 (then divides by 8)"
    if is_close(value, sobel_dy, rel=1e-4):
        return "that is ∂y, along the height (the rows); x runs along the width, across the columns"
    return is_close(value, truth, rel=1e-4)


def pixel_factor(shape: tuple[int, int] = SHAPE) -> float:
    """``du/dx``: the factor from a derivative in normalised units to one per pixel along the width, read from an
    :class:`INR`'s ``scale`` buffer."""
    return float(INR("siren", shape, channels=1, hidden=1, layers=0).scale[0])


@exercise("sobolev_inr.units",
          hint="the network sees u = 2x/(W − 1) − 1: by the chain rule ∂f/∂x = ∂f/∂u · du/dx, and du/dx is the "
               "change of u when x moves by one pixel along the width")
def _units(answer):
    value = _number(answer)
    h, w = SHAPE
    truth = DF_DU * pixel_factor()
    if is_close(value, DF_DU, rel=1e-4):
        return "that is still per unit of u: u spans [−1, 1] over the W − 1 pixel steps of the width, so one " \
               "pixel is only a small step in u"
    if is_close(value, DF_DU / pixel_factor(), rel=1e-4):
        return "you divided by du/dx: ∂f/∂x = ∂f/∂u · du/dx multiplies, and a pixel is a small step in u"
    if is_close(value, DF_DU * 2 / w, rel=1e-4):
        return f"nearly: the pixel centres x = 0 … {w - 1} map to u = −1 … 1, that is {w - 1} steps, not {w}"
    if is_close(value, DF_DU * 2 / (h - 1), rel=1e-4):
        return f"that uses the height ({h}); x runs along the width ({w})"
    return is_close(value, truth, rel=1e-4)


def neuron(omega0: float = OMEGA0, w: float = NEURON_W, b: float = NEURON_B, shape=SHAPE) -> INR:
    """A SIREN of one neuron, ``f(x, y) = sin(ω₀ (w u + b))`` with ``u = 2x/(W − 1) − 1`` (``y`` unused)."""
    net = INR("siren", shape, channels=1, hidden=1, layers=0, omega0=omega0)
    with torch.no_grad():
        net.hidden_layers[0].weight.copy_(torch.tensor([[w, 0.0]]))
        net.hidden_layers[0].bias.fill_(b)
        net.output.weight.fill_(1.0)
        net.output.bias.zero_()
    return net.double()


def siren_neuron_slope(x: float = NEURON_X) -> float:
    """``d/dx sin(ω₀ (w u + b))`` in intensity per pixel at abscissa ``x``, by the network's exact derivative."""
    with torch.no_grad():
        _, grad = neuron().value_and_gradient(torch.tensor([[x, 0.0]], dtype=torch.float64))
    return float(grad[0, 0, 0])


@exercise("sobolev_inr.siren_neuron",
          hint="the chain rule, twice: d/dx sin(ω₀ (w u + b)) = cos(ω₀ (w u + b)) · ω₀ w · du/dx, with "
               "u = 2x/(W − 1) − 1 (the cosine in radians)")
def _siren_neuron(answer):
    value = _number(answer)
    truth, factor = siren_neuron_slope(), pixel_factor()
    u = NEURON_X * factor - 1.0
    arg = OMEGA0 * (NEURON_W * u + NEURON_B)
    if is_close(value, truth / factor, rel=1e-3):
        return "that is per unit of u: multiply by du/dx = 2/(W − 1) for a derivative per pixel"
    if is_close(value, truth / OMEGA0, rel=1e-3):
        return "the ω₀ inside the sine comes out as a factor too: ω₀ w, not w"
    if is_close(value, truth * math.tan(arg), rel=1e-3):
        return "the derivative of sin is cos, not sin"
    if is_close(value, -truth, rel=1e-3):
        return "the sign: d/dz sin z = +cos z (and cos is taken in radians)"
    return is_close(value, truth, rel=1e-3)


def alternating_ramp(size: int = BLIND_SIZE) -> torch.Tensor:
    """``(size, size)`` float64: ``I(x, y) = x (−1)^y``, a ramp along the width whose sign flips from row to row:
    its true ``∂I/∂x`` is ``(−1)^y``, +1 on the even rows."""
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                          indexing="ij")
    return x * (-1.0) ** y


def blind_spot() -> tuple[float, float]:
    """``(central, sobel)``: the two filters' ``∂I/∂x`` of :func:`alternating_ramp` at :data:`BLIND_PIXEL`."""
    y, x = BLIND_PIXEL
    image = alternating_ramp()
    return tuple(float(image_gradients(image, kind)[0, y, x]) for kind in ("central", "sobel"))


@exercise("sobolev_inr.blind_spot",
          hint="the central difference looks along the row only: (I[y, x+1] − I[y, x−1]) / 2; Sobel takes that "
               "difference in the rows y−1, y and y+1 and averages them with weights 1, 2, 1 (/4). Mind the sign of "
               "each row")
def _blind_spot(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return f"expected two numbers, (central, sobel), got {answer!r}"
    if any(a is None or a is Ellipsis for a in answer):
        return "replace each ... with a number, then run the cell again"
    central, sobel = (_number(a) for a in answer)
    true_central, true_sobel = blind_spot()
    wrong = []
    if not is_close(central, true_central, rel=1e-6, abs_tol=1e-9):
        wrong.append("the central difference: it looks along row y only, (I[y, x+1] − I[y, x−1]) / 2, the two "
                     "neighbours being 2 pixels apart" if is_close(central, 2 * true_central) else
                     "the central difference: it looks along row y only, (I[y, x+1] − I[y, x−1]) / 2")
    if not is_close(sobel, true_sobel, rel=1e-6, abs_tol=1e-9):
        wrong.append("Sobel: it is not the row alone; it averages the central differences of rows y−1, y and y+1 "
                     "with weights 1, 2, 1 (/4), and the rows above and below have the opposite sign")
    return f"not yet for {'; '.join(wrong)}" if wrong else True
