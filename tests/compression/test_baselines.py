"""The baselines: known answers of each, their storage as the accountant counts it, bad input."""

import pytest
import torch

from tests.strategies import assert_names
from workbench.compression import (PrunedQuantization, QuantizedSVD, SparsePCACompression, UniformQuantization,
                                   VectorQuantization, compress_at_budget)
from workbench.compression.budget import METHODS, candidates, check_budget


def _w(n=32, d=48, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_eight_bit_quantization_is_nearly_exact_and_costs_eight_bits_plus_scales():
    W = _w()
    q = UniformQuantization(8).fit(W)
    # 256 levels over ±max|w| (about ±3σ in a row of 48): rounding error ~ step/√12 ≈ 6σ/256/3.5, i.e. < 1 %
    assert q.relative_error_ < 0.01
    assert q.storage_.bits == 32 * 48 * 8 + 32 * 32


def test_full_rank_svd_at_eight_bits_reconstructs():
    W = _w()
    s = QuantizedSVD(32, 8).fit(W)
    assert s.relative_error_ < 0.02  # two 8-bit factors: each < 1 % (as above), the product < 2 %
    assert s.storage_.bits == (32 * 32 + 32 * 48) * 8 + (32 + 32) * 32


def test_svd_error_falls_with_rank():
    W = _w(seed=1)
    errors = [QuantizedSVD(r, 8).fit(W).relative_error_ for r in (4, 8, 16, 32)]
    assert errors == sorted(errors, reverse=True)


def test_vq_with_a_codeword_per_sub_vector_is_exact_up_to_fp16():
    W = _w(8, 8, 2)
    v = VectorQuantization(16, 4).fit(W)  # 16 sub-vectors, 16 codewords: each its own centroid
    assert v.relative_error_ < 1e-3  # fp16 keeps 11 significant bits: 2^-11 relative per entry
    assert v.storage_.indices == 16 * 4 and v.storage_.codebooks == 16 * 4 * 16


def test_pruned_quantization_keeps_the_largest_weights():
    W = _w(seed=3)
    p = PrunedQuantization(0.75, 8).fit(W)
    kept = p.reconstruct() != 0
    assert int(kept.sum()) == round(0.25 * W.numel())
    assert W.abs()[kept].min() >= W.abs()[~kept].max()


def test_sparse_pca_gives_a_sparse_left_factor():
    W = _w(16, 24, 4)
    s = SparsePCACompression(4, 0.2, 8).fit(W)
    assert 0 < s.sparsity_ < 1 and s.relative_error_ < 1


@pytest.mark.parametrize("est, names", [
    (UniformQuantization(0), ("bits",)), (PrunedQuantization(1.0, 4), ("sparsity",)),
    (QuantizedSVD(40, 4), ("rank",)), (VectorQuantization(1000, 4), ("codewords",)),
    (VectorQuantization(8, 5), ("row_length",)), (SparsePCACompression(4, -1.0, 4), ("alpha",)),
])
def test_bad_settings_name_the_argument(est, names):
    with pytest.raises((ValueError, TypeError)) as e:
        est.fit(_w())
    assert_names(e.value, *names)


def test_every_method_fits_within_its_budget():
    W = _w(32, 32, 5)
    for method in METHODS:
        best = compress_at_budget(W, method, 3.0)
        assert best is not None, method
        assert best.storage_.bits_per_weight <= 3.0 + 1e-9


def test_a_larger_budget_never_gives_a_worse_best():
    # the configurations tried at 4 bits include one at least as good as the best at 2 bits for SVD, uniform
    # quantization and pruning (more rank, more bits, less pruning): their best error cannot grow with the budget
    W = _w(32, 32, 6)
    for method in ("quant", "svd", "prune_quant"):
        assert compress_at_budget(W, method, 4).relative_error_ <= compress_at_budget(W, method, 2).relative_error_


def test_sqf_covers_unstructured_pruning_plus_quantization_at_every_budget():
    # a layer whose rows differ in size (a classifier's): the largest weights sit in a few rows, which a fixed count
    # per row cannot follow; SQF's C = I with the layer's support is pruning + quantization's format, with a count
    # of non-zeros found to the unit instead of to 1 % of the layer, so its best is never worse
    W = _w(10, 128, 7) * torch.linspace(0.2, 3.0, 10)[:, None]
    for budget in (1.0, 2.0, 3.0, 4.0):
        sqf = compress_at_budget(W, "sqf", budget, per_family=1, steps=10)
        pq = compress_at_budget(W, "prune_quant", budget)
        assert sqf.storage_.bits_per_weight <= budget + 1e-9
        assert sqf.relative_error_ <= pq.relative_error_ + 1e-6, (budget, sqf, pq)  # 1e-6: float32 norms


def test_budget_and_method_are_checked():
    for bad in (0, -1, 40, "2"):
        with pytest.raises(ValueError, match="budget"):
            check_budget(bad)
    with pytest.raises(ValueError, match="method"):
        candidates((8, 8), "svd2", 2.0)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 10), st.integers(2, 12), st.integers(1, 8), st.floats(0, 0.95), st.data())
def test_any_valid_baseline_setting_gives_a_finite_error_and_its_own_storage(n, d, bits, sparsity, data):
    W = torch.randn(n, d, generator=torch.Generator().manual_seed(data.draw(st.integers(0, 10 ** 6))))
    rank = data.draw(st.integers(1, min(n, d)))
    for est in (UniformQuantization(bits), PrunedQuantization(sparsity, max(bits, 2)), QuantizedSVD(rank, bits)):
        est.fit(W)
        assert 0 <= est.relative_error_ < float("inf")
        assert est.reconstruct().shape == W.shape
    q = UniformQuantization(bits).fit(W)
    assert q.storage_.bits == n * d * bits + n * 32
