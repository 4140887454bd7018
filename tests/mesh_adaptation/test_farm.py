import math

import numpy as np
import pytest

from workbench.mesh_adaptation.farm import CASES, FarmCase, corrected_thrust, training_case


def test_thrust_correction_matches_the_papers_value():
    # C_T' = 0.8 * 4 / (1 + sqrt(1 - 0.8 * 254.47 / 720))^2 = 0.93812 (research notes, from the paper's code)
    assert corrected_thrust(0.8, 40.0) == pytest.approx(0.93812, abs=1e-5)
    assert CASES["aligned"].thrust_corrected == pytest.approx(0.93812, abs=1e-5)


@pytest.mark.parametrize("name", ["aligned", "offset"])
def test_turbine_density_integrates_to_the_number_of_turbines(name):
    case = CASES[name]
    # midpoint rule on a 0.05 m grid over the farm: the bump is smooth, so the error is far below 1e-4
    h = 0.05
    total = 0.0
    for x0, y0 in case.turbines:
        s = np.arange(-9 + h / 2, 9, h)
        x, y = np.meshgrid(x0 + s, y0 + s)
        total += case.density(x, y).sum() * h * h
    assert total == pytest.approx(len(case.turbines), rel=1e-4)
    assert case.density(np.array([10.0]), np.array([10.0]))[0] == 0.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(turbines=((5.0, 250.0),)), "turbines\\[0\\]"),
    (dict(turbines=((600.0, 495.0),)), "inside"),
    (dict(turbines=((600.0, 250.0), (610.0, 255.0))), "overlap"),
    (dict(turbines=((600.0, 250.0),), depth=0.0), "depth"),
    (dict(turbines=((600.0, 250.0),), depth=-3.0), "depth"),
    (dict(turbines=((600.0, 250.0),), viscosity=0.0), "viscosity"),
    (dict(turbines=((600.0, 250.0),), inflow=float("nan")), "inflow"),
    (dict(turbines=()), "turbines"),
])
def test_bad_farms_are_rejected_with_the_argument_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FarmCase("bad", **kwargs)


def test_turbines_touching_but_not_overlapping_are_fine():
    FarmCase("pair", ((600.0, 250.0), (618.0, 250.0)))


def test_training_cases_follow_the_papers_ranges_and_repeat():
    for i in range(1, 31):
        c = training_case(i)
        assert 20 <= c.depth <= 100 and 0.5 <= c.inflow <= 6 and 0.1 <= c.viscosity <= 1
        assert 1 <= len(c.turbines) <= 7
        for k, (x, y) in enumerate(c.turbines):
            assert 50 <= x <= 1150 and 50 <= y <= 450
            for a, b in c.turbines[:k]:
                assert math.hypot(x - a, y - b) >= 50
    assert training_case(7) == training_case(7)
    with pytest.raises(ValueError, match="index"):
        training_case(0)
