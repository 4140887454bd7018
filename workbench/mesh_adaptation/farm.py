"""Tidal-farm test cases of E2N (Wallwork et al. 2022): a 1200 m x 500 m channel with 18 m turbines.

A :class:`FarmCase` holds the physics (depth, viscosity, inflow speed, bottom drag) and the turbine
centres; its constructor checks them, so bad input fails before any mesh is built or solve started.
:data:`CASES` has the paper's two test farms, ``aligned`` (turbines at (456, 250) and (744, 250)) and
``offset`` (at (456, 232) and (744, 268)); :func:`training_case` draws the random training farms as the
paper's code does (``np.random.seed(100 * i)``: depth U(20, 100) m, inflow U(0.5, 6) m/s, viscosity
U(0.1, 1) m^2/s, 1 to 7 turbines at least 50 m from the walls and from each other).

Turbines are a smooth drag field (Kramer & Piggott 2016): per turbine a separable bump on its square
footprint :math:`|x - x_0| < D/2, |y - y_0| < D/2`,

.. math::  b(x, y) = e^{1 - 1/(1 - q_x)} e^{1 - 1/(1 - q_y)}, \\quad q_x = ((x - x_0)/r)^2,\\ q_y = ((y - y_0)/r)^2,

normalised to integrate to one turbine, with drag coefficient :math:`c_t = \\tfrac12 C_T' A_T d(x)` and
the thrust correction :math:`C_T' = 4 C_T / (1 + \\sqrt{1 - C_T A_T / (H D)})^2`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FarmCase", "CASES", "training_case", "corrected_thrust", "LENGTH", "WIDTH", "DIAMETER",
           "INFLOW_TAG", "OUTFLOW_TAG", "WALL_TAG"]

LENGTH, WIDTH = 1200.0, 500.0  # channel, m
DIAMETER = 18.0  # turbine diameter, m
INFLOW_TAG, OUTFLOW_TAG, WALL_TAG = 1, 2, 3  # boundary tags: x = 0, x = L, y = 0 and y = W
GRAVITY = 9.81
RHO = 1030.0 * 1e-6  # sea water density x 1e-6: power in MW


def corrected_thrust(thrust: float, depth: float, diameter: float = DIAMETER) -> float:
    """Thrust coefficient corrected for the flow through the turbine's footprint (Kramer & Piggott 2016)."""
    area = math.pi * (diameter / 2) ** 2
    blockage = thrust * area / (depth * diameter)
    if not 0 <= blockage < 1:
        raise ValueError(f"thrust: expected C_T * A_T / (H D) in [0, 1), got {blockage!r}")
    return thrust * 4.0 / (1.0 + math.sqrt(1.0 - blockage)) ** 2


@dataclass(frozen=True)
class FarmCase:
    """One steady tidal-farm problem in SI units.

    Args:
        name: label.
        turbines: ``((x, y), ...)`` turbine centres, m.
        depth: still-water depth ``H``, m (> 0). viscosity: horizontal viscosity, m^2/s (> 0).
        inflow: inflow speed at ``x = 0``, m/s (> 0). drag: quadratic bottom drag coefficient (>= 0).
        thrust: turbine thrust coefficient ``C_T`` (before the correction).
        diameter: turbine diameter ``D``, m; length, width: channel size, m.
    """

    name: str
    turbines: tuple[tuple[float, float], ...]
    depth: float = 40.0
    viscosity: float = 0.5
    inflow: float = 5.0
    drag: float = 0.0025
    thrust: float = 0.8
    diameter: float = DIAMETER
    length: float = LENGTH
    width: float = WIDTH

    def __post_init__(self):
        for name in ("depth", "viscosity", "inflow", "diameter", "length", "width"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name}: expected a positive number, got {v!r}")
        for name in ("drag", "thrust"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name}: expected a non-negative number, got {v!r}")
        try:
            centres = np.asarray(self.turbines, dtype=float).reshape(-1, 2)
        except (TypeError, ValueError):
            raise TypeError(f"turbines: expected a sequence of (x, y) pairs, got {self.turbines!r}") from None
        if len(centres) == 0 or centres.size != 2 * len(self.turbines):
            raise ValueError(f"turbines: expected at least one (x, y) pair, got {self.turbines!r}")
        r = self.diameter / 2
        for k, (x, y) in enumerate(centres):
            if not (r < x < self.length - r and r < y < self.width - r):
                raise ValueError(f"turbines[{k}]: expected the {self.diameter:g} m footprint inside the "
                                 f"{self.length:g} m x {self.width:g} m channel, got centre ({x:g}, {y:g})")
        for i in range(len(centres)):
            for j in range(i):
                dx, dy = np.abs(centres[i] - centres[j])
                if dx < self.diameter and dy < self.diameter:
                    raise ValueError(f"turbines: footprints of turbines {j} at {tuple(centres[j])} and {i} at "
                                     f"{tuple(centres[i])} overlap (centres closer than D = {self.diameter:g} m "
                                     f"in both x and y)")
        object.__setattr__(self, "turbines", tuple((float(x), float(y)) for x, y in centres))
        corrected_thrust(self.thrust, self.depth, self.diameter)  # raises on an impossible blockage

    @property
    def thrust_corrected(self) -> float:
        return corrected_thrust(self.thrust, self.depth, self.diameter)

    @property
    def turbine_area(self) -> float:
        return math.pi * (self.diameter / 2) ** 2

    def density(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Turbine density ``d(x, y)`` (turbines per m^2) at points, shape of ``x``; each bump integrates to 1."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        r = self.diameter / 2
        out = np.zeros(np.broadcast(x, y).shape)
        for x0, y0 in self.turbines:
            out += _bump((x - x0) / r) * _bump((y - y0) / r) / (BUMP_INTEGRAL * r) ** 2
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "turbines": [list(t) for t in self.turbines], "depth": self.depth,
                "viscosity": self.viscosity, "inflow": self.inflow, "drag": self.drag, "thrust": self.thrust,
                "diameter": self.diameter, "length": self.length, "width": self.width}


def _bump(s: np.ndarray) -> np.ndarray:
    """:math:`e^{1 - 1/(1 - s^2)}` on ``|s| < 1``, 0 outside (smooth, compact support)."""
    s = np.asarray(s, float)
    q = np.minimum(s * s, 1.0)
    inside = q < 1.0
    out = np.zeros_like(q)
    out[inside] = np.exp(1.0 - 1.0 / (1.0 - q[inside]))
    return out


def _bump_integral(n: int = 200_001) -> float:
    s = np.linspace(-1.0, 1.0, n)
    return float(np.trapezoid(_bump(s), s))


BUMP_INTEGRAL = _bump_integral()  # int_{-1}^{1} e^{1 - 1/(1 - s^2)} ds = 1.2069...

#: The paper's test farms (``testing_cases.txt``: aligned and offset).
CASES: dict[str, FarmCase] = {
    "aligned": FarmCase("aligned", ((456.0, 250.0), (744.0, 250.0))),
    "offset": FarmCase("offset", ((456.0, 232.0), (744.0, 268.0))),
}


def training_case(index: int) -> FarmCase:
    """Random training farm ``index`` (1-based), drawn as in the paper's code (seed ``100 * index``)."""
    if not isinstance(index, (int, np.integer)) or index < 1:
        raise ValueError(f"index: expected a positive integer, got {index!r}")
    rng = np.random.RandomState(100 * int(index))
    depth = rng.uniform(20.0, 100.0)
    inflow = rng.uniform(0.5, 6.0)
    viscosity = rng.uniform(0.1, 1.0)
    n = rng.randint(1, 8)
    centres: list[tuple[float, float]] = []
    while len(centres) < n:
        x, y = 50 + 1100 * rng.rand(), 50 + 400 * rng.rand()
        if all(math.hypot(x - a, y - b) >= 50.0 for a, b in centres):
            centres.append((x, y))
    return FarmCase(f"training_{index}", tuple(centres), depth=depth, viscosity=viscosity, inflow=inflow)
