"""The notebook's checked exercises: each checker accepts the answer worked out by hand and refuses the usual
mistakes with a hint that names the mistake, not the answer."""

import math

import pytest

from workbench.exercises import check
from workbench.sobolev_inr.exercises import (BLIND_PIXEL, DF_DU, NEIGHBOURHOOD, NEURON_B, NEURON_W, NEURON_X, OMEGA0,
                                             SHAPE, alternating_ramp, blind_spot, central_dx, pixel_factor,
                                             siren_neuron_slope, sobel_dx)


def test_sobel_exercise_is_the_weighted_row_differences_over_8():
    # rows' right − left: 6 − 1, 8 − 0, 4 − 2; weights 1, 2, 1; the normalised kernel divides by 8
    (a, _, c), (d, _, f), (g, _, i) = NEIGHBOURHOOD
    by_hand = ((c - a) + 2 * (f - d) + (i - g)) / 8
    assert sobel_dx() == pytest.approx(by_hand) and central_dx() == pytest.approx((f - d) / 2)
    assert check("sobolev_inr.sobel_dx", by_hand)
    assert "divides it by 8" in check("sobolev_inr.sobel_dx", 8 * by_hand).message
    assert "the sign" in check("sobolev_inr.sobel_dx", -by_hand).message
    assert "central difference" in check("sobolev_inr.sobel_dx", (f - d) / 2).message
    assert "∂y" in check("sobolev_inr.sobel_dx", ((g + 2 * NEIGHBOURHOOD[2][1] + i) - (a + 2 * NEIGHBOURHOOD[0][1] + c))
                         / 8).message


def test_units_exercise_is_the_chain_rule_through_the_normalisation():
    h, w = SHAPE
    assert pixel_factor() == pytest.approx(2 / (w - 1))
    assert check("sobolev_inr.units", DF_DU * 2 / (w - 1))
    assert "per unit of u" in check("sobolev_inr.units", DF_DU).message
    assert "divided" in check("sobolev_inr.units", DF_DU * (w - 1) / 2).message
    assert f"{w - 1} steps, not {w}" in check("sobolev_inr.units", DF_DU * 2 / w).message
    assert "height" in check("sobolev_inr.units", DF_DU * 2 / (h - 1)).message


def test_siren_neuron_exercise_matches_the_closed_form():
    w_ = SHAPE[1]
    u = 2 * NEURON_X / (w_ - 1) - 1
    arg = OMEGA0 * (NEURON_W * u + NEURON_B)
    by_hand = math.cos(arg) * OMEGA0 * NEURON_W * 2 / (w_ - 1)
    assert siren_neuron_slope() == pytest.approx(by_hand, rel=1e-5)
    assert check("sobolev_inr.siren_neuron", by_hand)
    assert "per unit of u" in check("sobolev_inr.siren_neuron", by_hand * (w_ - 1) / 2).message
    assert "ω₀ w, not w" in check("sobolev_inr.siren_neuron", by_hand / OMEGA0).message
    assert "cos, not sin" in check("sobolev_inr.siren_neuron", math.sin(arg) * OMEGA0 * NEURON_W * 2 / (w_ - 1)).message


def test_blind_spot_exercise_sobel_cannot_see_a_row_alternating_ramp():
    y, x = BLIND_PIXEL
    image = alternating_ramp()
    assert image[y, x] == x and image[y + 1, x] == -x  # an even row rises, the next falls
    assert blind_spot() == (1.0, 0.0)  # the true ∂x is +1: the central difference sees it, Sobel sees nothing
    assert check("sobolev_inr.blind_spot", (1, 0))
    result = check("sobolev_inr.blind_spot", (1, 1))
    assert not result and "Sobel" in result.message and "central" not in result.message.split("for ")[1][:20]
    assert "2 pixels apart" in check("sobolev_inr.blind_spot", (2, 0)).message
    assert "expected two numbers" in check("sobolev_inr.blind_spot", 1.0).message
    assert "replace each ..." in check("sobolev_inr.blind_spot", (..., 0)).message
