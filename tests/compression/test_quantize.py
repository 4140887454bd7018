"""The projection onto the quantization grid: known answers and properties (hypothesis)."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kernels.quantized import code_range
from tests.strategies import floats
from workbench.compression.quantize import check_bits, fit_group_scales, fit_scales, quantize

SETTINGS = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])


def test_one_bit_scale_is_twice_the_mean_magnitude():
    # at 1 bit the levels are ±scale/2 and the MSE-optimal level is E|x| (the centroid of each half)
    x = torch.randn(4, 5000, generator=torch.Generator().manual_seed(0))
    scales = fit_scales(x, 1, dim=0)
    assert torch.allclose(scales, 2 * x.abs().mean(1), rtol=2e-3)  # Lloyd's fixed point, to its last step


def test_values_lie_on_the_grid_and_masked_entries_are_zero():
    x = torch.randn(6, 40, generator=torch.Generator().manual_seed(1))
    mask = x.abs() > 0.5
    values, codes, scales = quantize(x, 3, dim=0, mask=mask)
    lo, hi = code_range(3)
    assert codes.min() >= lo and codes.max() <= hi
    on_grid = scales[:, None] * (codes.float() + 0.5)
    assert torch.equal(values[mask], on_grid[mask]) and torch.all(values[~mask] == 0)


def test_weights_move_the_scale_towards_the_heavy_entries():
    # two values in one group: with all the weight on the first, its error must vanish
    v = torch.tensor([1.0, 3.0])
    g = torch.zeros(2, dtype=torch.long)
    s = fit_group_scales(v, g, 1, 1, weights=torch.tensor([1.0, 0.0]))
    assert float(s) * 0.5 == pytest.approx(1.0, rel=1e-6)


def test_bits_are_checked():
    for bad, err in ((0, ValueError), (17, ValueError), (2.0, TypeError), (True, TypeError)):
        with pytest.raises(err, match="bits"):
            check_bits("bits", bad)


@SETTINGS
@given(arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 30)), elements=floats(-1e3, 1e3, width=32)),
       st.integers(1, 8))
def test_fitted_scales_beat_the_max_abs_scale(x, bits):
    # the fitted scale minimises the group's squared error over a search that includes the max-abs scale's
    # neighbourhood and then only accepts Lloyd steps that do not increase it: never worse than max|x|/2^(b-1)
    # (tolerance: float32 rounding of the errors, 1e-5 relative)
    t = torch.from_numpy(x)
    values, _, scales = quantize(t, bits, dim=0)
    assert torch.isfinite(values).all() and (scales >= 0).all()
    naive = t.abs().amax(1) / 2 ** (bits - 1)
    naive_values, _, _ = quantize(t, bits, dim=0, scales=torch.where(naive > 0, naive, torch.ones_like(naive)))
    fitted_err = ((values - t) ** 2).sum(1)
    naive_err = ((naive_values - t) ** 2).sum(1)
    assert torch.all(fitted_err <= naive_err * (1 + 1e-5) + 1e-6)
