"""SparseQuantizedFactorization: known answers, the special cases, the kernel layout, bad input."""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels import factorized_linear, factorized_weight
from tests.strategies import assert_names
from workbench.compression import SparseQuantizedFactorization as SQF
from workbench.compression.baselines import PrunedQuantization, QuantizedSVD, UniformQuantization, VectorQuantization
from workbench.compression.budget import special_case_start, sqf_storage
from workbench.compression.storage import CODEBOOK_BITS, position_bits


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_low_rank_weight_is_recovered_to_quantization_precision():
    # W of exact rank 4: s = k = 4 is a quantized SVD; at 8 bits each factor's rounding is ~2^-8 of its range,
    # so the product's relative error stays well below 2 %
    W = torch.randn(40, 4, generator=_gen()) @ torch.randn(4, 30, generator=_gen(1))
    f = SQF(4, 4, 8, 8).fit(W)
    assert f.relative_error_ < 0.02
    assert f.reconstruct().shape == W.shape


def test_sparse_codes_over_a_dictionary_are_found():
    # rows that are ±1 times one of 8 atoms (s = 1, exactly a 1-bit code): the folded k-means start and the
    # pursuit find the atoms; C's 8-bit rounding leaves < 1 % error
    C = torch.randn(8, 16, generator=_gen(2))
    pick = torch.randint(0, 8, (400,), generator=_gen(3))
    sign = torch.where(torch.rand(400, generator=_gen(4)) < 0.5, -1.0, 1.0)
    W = (sign[:, None] * C[pick]).reshape(100, 64)
    f = SQF(8, 1, 1, 8, row_length=16, restarts=2).fit(W)
    assert f.relative_error_ < 0.01


def test_descent_never_ends_worse_than_its_start_and_improves_scalar_grids():
    W = torch.randn(32, 64, generator=_gen(5)) * torch.rand(32, 1, generator=_gen(6))
    uniform = UniformQuantization(3).fit(W)
    f = SQF(4, 1, 1, 8, row_length=1, init="grid").fit(W)
    # the grid start is uniform 3-bit quantization (the same scale fit) up to C's 8-bit rounding of the levels
    # ½..3½ (a step of 3.5/255 moves a level by < 0.8 %, so the error by less than 1 %)
    assert f.init_error_ == pytest.approx(uniform.relative_error_, rel=1e-2)
    assert f.relative_error_ <= f.init_error_
    assert f.relative_error_ < 0.99 * uniform.relative_error_  # Lloyd's levels beat uniform ones on these rows
    assert f.history_[0] == f.init_error_ and min(f.history_) == f.relative_error_


def test_storage_is_what_the_accountant_predicts():
    W = torch.randn(24, 48, generator=_gen(7))
    for kw in (dict(rank=8, nonzeros_per_row=3, bits_z=2, bits_c=4),
               dict(rank=16, nonzeros_per_row=1, bits_z=1, bits_c=8, row_length=4)):
        f = SQF(**kw).fit(W)
        assert f.storage_ == sqf_storage((24, 48), kw["rank"], kw["nonzeros_per_row"], kw["bits_z"], kw["bits_c"],
                                         kw.get("row_length"))
    # by hand, whole rows: 24 rows x 3 non-zeros x 2 bits, positions min(3*3, 8) per row, 24 + 8 scales, C 8x48x4
    f = SQF(8, 3, 2, 4).fit(W)
    assert f.storage_.bits == 24 * 3 * 2 + 24 * 8 + (24 + 8) * 32 + 8 * 48 * 4


def test_factors_feed_the_kernel_op_exactly():
    W = torch.randn(20, 36, generator=_gen(8))
    f = SQF(12, 4, 3, 4).fit(W)
    args = f.kernel_arguments()
    assert torch.allclose(factorized_weight(**args), f.reconstruct(), atol=1e-6)
    x = torch.randn(5, 36, generator=_gen(9))
    # fp32 sums of 36 + 4 terms of order |x||Z||C|: 1e-4 absolute is ~100 ulps of these outputs
    assert torch.allclose(factorized_linear(x, **args), x @ f.reconstruct().T, atol=1e-4)


def test_convolution_weights_are_rows_per_output_channel():
    W = torch.randn(16, 8, 3, 3, generator=_gen(10))
    f = SQF(8, 4, 4, 8).fit(W)
    assert f.reconstruct().shape == W.shape and f.Z_.shape == (16, 8) and f.C_.shape == (8, 72)


def test_z_of_ones_is_vector_quantization_stored_without_values():
    # z in {0, 1}, s = 1: the same k-means as the VQ baseline (same start, same seed), then Lloyd steps, which
    # never increase the error; C at 15 bits rounds the codewords no coarser than fp16 (2^-14 of the largest
    # entry), so the two errors agree to 1e-4 relative and SQF stores the codebook in fewer bits
    W = torch.randn(48, 64, generator=_gen(11))
    vq = VectorQuantization(64, 4).fit(W)
    f = SQF(64, 1, 1, 15, row_length=4, z_values="ones").fit(W)
    assert f.relative_error_ <= vq.relative_error_ * (1 + 1e-4)
    # Z: only its positions (VQ's codeword numbers); C: 64 x 4 codes of 15 bits and one tensor scale
    assert f.storage_.indices == vq.storage_.indices == 48 * 64 // 4 * position_bits(64)
    assert (f.storage_.values, f.storage_.scales) == (64 * 4 * 15, 32)
    assert f.storage_.bits < vq.storage_.bits == 48 * 16 * 6 + 64 * 4 * CODEBOOK_BITS
    assert set(f.Z_.unique().tolist()) == {0.0, 1.0} and bool(((f.Z_ != 0).sum(1) == 1).all())


def test_identity_dictionary_is_row_wise_pruning_plus_quantization():
    # C = I: Z is W with its s largest weights per row kept, quantized per row; at 8 bits with s = d it is uniform
    # 8-bit quantization (the same scale fit), and C costs nothing
    W = torch.randn(12, 40, generator=_gen(12))
    f = SQF(40, 40, 8, dictionary="identity").fit(W)
    u = UniformQuantization(8).fit(W)
    assert f.relative_error_ == pytest.approx(u.relative_error_, rel=1e-6)
    assert f.storage_.bits == u.storage_.bits
    g = SQF(40, 10, 4, dictionary="identity").fit(W)
    kept = g.Z_ != 0
    assert bool((kept.sum(1) == 10).all())
    # each row keeps (up to ties at the grid's rounding) its 10 largest weights: the pursuit's gains are |w|
    top = W.abs().topk(10, dim=1).indices
    assert bool(kept.gather(1, top).all())
    x = torch.randn(3, 40, generator=_gen(13))
    assert torch.allclose(factorized_linear(x, **g.kernel_arguments()), x @ g.reconstruct().T, atol=1e-4)


def test_identity_dictionary_with_layer_support_is_unstructured_pruning_plus_quantization():
    # C = I, support="layer": the layer's t largest |w| wherever they are, quantized per row, positions per row as a
    # list or a bitmap: exactly PrunedQuantization's format and scale fit, so the same mask gives the same weight
    W = torch.randn(10, 64, generator=_gen(21)) * torch.linspace(0.2, 3.0, 10)[:, None]  # rows of unequal size
    pq = PrunedQuantization(0.7, 3).fit(W)
    t = int((pq.reconstruct() != 0).sum())
    f = SQF(64, t / 10, 3, dictionary="identity", support="layer").fit(W)
    assert torch.allclose(f.reconstruct(), pq.reconstruct(), atol=1e-6) and f.storage_ == pq.storage_
    kept = f.Z_ != 0
    assert int(kept.sum()) == t and len(set(f.z_counts_.tolist())) > 1  # uneven rows: what a row budget can't do
    assert bool(kept.reshape(-1)[W.abs().reshape(-1).topk(t).indices].all())
    # the padded entries of shorter rows are distinct unused positions holding 0
    assert bool((f.Z_.gather(1, f.z_index_)[torch.arange(f.z_index_.shape[1]) >= f.z_counts_[:, None]] == 0).all())
    with pytest.raises(ValueError, match="support"):
        f.kernel_arguments()


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 12), st.integers(2, 24), st.data())
def test_layer_support_keeps_the_count_it_is_given_and_stores_what_the_accountant_says(n, d, data):
    from workbench.compression.storage import Storage, sparse_values

    t = data.draw(st.integers(1, n * d))
    bits = data.draw(st.integers(2, 8))
    W = torch.randn(n, d, generator=_gen(data.draw(st.integers(0, 10 ** 6))))
    f = SQF(d, t / n, bits, dictionary="identity", support="layer").fit(W)
    assert int(f.z_counts_.sum()) == t == int((f.Z_ != 0).sum())  # on the mid-rise grid no kept value is 0
    assert f.storage_ == Storage(n * d) + sparse_values(n, d, f.z_counts_.tolist(), bits, n)
    assert math.isfinite(f.relative_error_) and f.relative_error_ <= 1.0 + 1e-6  # keeping the largest never hurts


def test_special_case_starts_are_never_worse_than_their_baseline():
    W = torch.randn(32, 48, generator=_gen(14))
    svd = QuantizedSVD(6, 4).fit(W)
    f = special_case_start(svd, steps=30).fit(W)
    # the first iterate is the baseline itself (same split of the singular values, same scale fit)
    assert f.init_error_ == pytest.approx(svd.relative_error_, rel=1e-5)
    assert f.relative_error_ <= f.init_error_ and f.storage_.bits == svd.storage_.bits
    vq = VectorQuantization(32, 4).fit(W)
    g = special_case_start(vq, steps=30).fit(W)
    assert g.relative_error_ <= vq.relative_error_ * (1 + 1e-4)  # 15-bit against fp16 rounding, as above
    assert g.storage_.bits <= vq.storage_.bits
    with pytest.raises(TypeError, match="est"):
        special_case_start(PrunedQuantization(0.5, 4).fit(W))


@pytest.mark.parametrize("kw", [dict(rank=16, nonzeros_per_row=1, bits_c=8, row_length=4, z_values="ones"),
                                dict(rank=16, nonzeros_per_row=2, bits_z=3, bits_c=6, row_length=4),
                                dict(rank=12, nonzeros_per_row=3, bits_z=4, bits_c=4)])
def test_a_start_given_as_its_support_is_the_dense_start_never_built_dense(kw, monkeypatch):
    """``init=(values, index, C)`` fits exactly as ``init=(Z, C)`` with that ``Z`` (same picks, same error: the
    projection of a row with ``s`` non-zeros keeps them), and with ``4 s <= k`` no ``(rows, k)`` tensor is built: a
    vector quantizer's one-hot ``Z`` at 4,096 codewords is 1.6 GB on a 128 × 3,136 layer."""
    import workbench.compression.row_sparse as row_sparse
    import workbench.compression.sqf as sqf
    g = _gen(21)
    W = torch.randn(32, 48, generator=g)
    rows = W.numel() // kw["row_length"] if "row_length" in kw else 32
    k, s = kw["rank"], kw["nonzeros_per_row"]
    index = torch.rand(rows, k, generator=g).argsort(1)[:, :s]  # unsorted: the start sorts each row
    values = torch.ones(rows, s) if kw.get("z_values") == "ones" else torch.randn(rows, s, generator=g)
    C = torch.randn(k, W.numel() // rows, generator=g)
    Z = torch.zeros(rows, k).scatter_(1, index, values)
    kw = dict(kw, steps=10)
    dense_fit = SQF(init=(Z, C), **kw).fit(W)

    def never(values, index, k):
        raise AssertionError(f"a dense ({len(index)}, {k}) Z was built")
    if 4 * s <= k:
        monkeypatch.setattr(sqf, "dense", never)
        monkeypatch.setattr(row_sparse, "dense", never)
    support_fit = SQF(init=(values, index, C), **kw).fit(W)
    assert torch.equal(support_fit.z_index_, dense_fit.z_index_)
    assert support_fit.relative_error_ == dense_fit.relative_error_
    assert support_fit.history_ == dense_fit.history_


def test_rows_with_fewer_usable_atoms_than_s_still_get_distinct_positions():
    """A dictionary with only one non-zero atom cannot give a row 2 distinct useful atoms: the second position is
    an unused one holding 0 (distinct, so the kernel never adds one position twice), and the fit is exact for a
    weight that is a multiple of that atom."""
    atom = torch.randn(1, 20, generator=_gen(5))
    W = torch.arange(1.0, 9.0)[:, None] * atom  # (8, 20), rank one
    C = torch.zeros(4, 20)
    C[0] = atom[0]  # the pursuit's second round finds no usable atom and repeats the first (argmax of all -inf)
    Z = torch.zeros(8, 4)
    Z[:, 0] = 1.0
    f = SQF(4, 2, 8, 8, init=(Z, C), steps=3).fit(W)
    assert bool((f.z_index_.diff(dim=1) > 0).all())  # distinct, ascending
    assert bool((f.z_index_[:, 0] == 0).all())
    assert f.relative_error_ < 0.01  # the 8-bit grid of the values: a step is 1/127 of the largest


@pytest.mark.parametrize("kw, W, names", [
    (dict(rank=9, nonzeros_per_row=2), torch.randn(8, 20), ("rank",)),
    (dict(rank=4, nonzeros_per_row=5), torch.randn(8, 20), ("nonzeros_per_row",)),
    (dict(rank=4, nonzeros_per_row=2, bits_z=0), torch.randn(8, 20), ("bits_z",)),
    (dict(rank=4, nonzeros_per_row=2, bits_c=0), torch.randn(8, 20), ("bits_c",)),
    (dict(rank=4, nonzeros_per_row=2, bits_c=1.5), torch.randn(8, 20), ("bits_c",)),
    (dict(rank=4, nonzeros_per_row=2), torch.randn(8, 20, 3), ("W",)),
    (dict(rank=4, nonzeros_per_row=2), torch.randn(20), ("W",)),
    (dict(rank=4, nonzeros_per_row=2), torch.full((8, 20), math.nan), ("W",)),
    (dict(rank=4, nonzeros_per_row=2), torch.ones(8, 20, dtype=torch.int64), ("W",)),
    (dict(rank=4, nonzeros_per_row=2, row_length=7), torch.randn(8, 20), ("row_length",)),
    (dict(rank=4, nonzeros_per_row=2, init="pca"), torch.randn(8, 20), ("init",)),
    (dict(rank=4, nonzeros_per_row=2, steps=-1), torch.randn(8, 20), ("steps",)),
    (dict(rank=4, nonzeros_per_row=2, init="grid"), torch.randn(8, 20), ("init",)),
    (dict(rank=8, nonzeros_per_row=2, init="svd", row_length=4), torch.randn(8, 20), ("init",)),
    (dict(rank=4, nonzeros_per_row=2, bits_c=17), torch.randn(8, 20), ("bits_c",)),
    (dict(rank=4, nonzeros_per_row=2, z_values="binary"), torch.randn(8, 20), ("z_values",)),
    (dict(rank=4, nonzeros_per_row=2, dictionary="fixed"), torch.randn(8, 20), ("dictionary",)),
    (dict(rank=8, nonzeros_per_row=2, dictionary="identity"), torch.randn(8, 20), ("rank",)),
    (dict(rank=4, nonzeros_per_row=2, support="layer"), torch.randn(8, 20), ("support",)),
    (dict(rank=20, nonzeros_per_row=2, dictionary="identity", support="diagonal"), torch.randn(8, 20), ("support",)),
    (dict(rank=20, nonzeros_per_row=0.0, dictionary="identity", support="layer"), torch.randn(8, 20),
     ("nonzeros_per_row",)),
    (dict(rank=20, nonzeros_per_row=math.inf, dictionary="identity", support="layer"), torch.randn(8, 20),
     ("nonzeros_per_row",)),
    (dict(rank=20, nonzeros_per_row=2.5, dictionary="identity"), torch.randn(8, 20), ("nonzeros_per_row",)),
    (dict(rank=4, nonzeros_per_row=1, z_values="ones", init="grid", row_length=1), torch.randn(8, 20), ("init",)),
    (dict(rank=4, nonzeros_per_row=2, init=(torch.zeros(8, 3), torch.zeros(3, 20))), torch.randn(8, 20),
     ("init",)),
    (dict(rank=4, nonzeros_per_row=2, init=(torch.full((8, 4), math.nan), torch.zeros(4, 20))), torch.randn(8, 20),
     ("init",)),
    (dict(rank=4, nonzeros_per_row=2, init=(torch.ones(8, 2), torch.zeros(8, 2, dtype=torch.long),
                                            torch.zeros(4, 20))), torch.randn(8, 20), ("init",)),  # a repeat
    (dict(rank=4, nonzeros_per_row=2, init=(torch.ones(8, 2), torch.full((8, 2), 4), torch.zeros(4, 20))),
     torch.randn(8, 20), ("init",)),  # position 4 of 4
    (dict(rank=4, nonzeros_per_row=2, init=(torch.ones(8, 2), torch.ones(8, 2), torch.zeros(4, 20))),
     torch.randn(8, 20), ("init",)),  # float positions
    (dict(rank=4, nonzeros_per_row=2, init=(torch.ones(8, 3), torch.zeros(8, 3, dtype=torch.long),
                                            torch.zeros(4, 20))), torch.randn(8, 20), ("init",)),  # s = 3, not 2
    (dict(rank=4, nonzeros_per_row=1, init=(torch.full((8, 1), math.inf), torch.zeros(8, 1, dtype=torch.long),
                                            torch.zeros(4, 20))), torch.randn(8, 20), ("init",)),
])
def test_bad_input_names_the_argument(kw, W, names):
    with pytest.raises((ValueError, TypeError)) as e:
        SQF(**kw).fit(W)
    assert_names(e.value, *names)


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 12), st.integers(2, 16), st.data())
def test_any_valid_setting_fits_within_its_storage_and_never_worse_than_its_start(n, d, data):
    k = data.draw(st.integers(1, min(n, d)))
    s = data.draw(st.integers(1, k))
    bz, bc = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 16))
    values = data.draw(st.sampled_from(["quantized", "ones"]))
    W = torch.randn(n, d, generator=_gen(data.draw(st.integers(0, 10 ** 6))))
    f = SQF(k, s, bz, bc, steps=10, z_values=values).fit(W)
    assert math.isfinite(f.relative_error_) and f.relative_error_ <= f.init_error_
    assert int((f.Z_ != 0).sum(1).max()) <= s
    assert f.storage_ == sqf_storage((n, d), k, s, bz, bc, z_values=values)
    assert f.c_codes_.dtype == (torch.int8 if bc <= 8 else torch.int16)


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 40), st.integers(4, 24), st.integers(1, 6), st.integers(0, 10 ** 6))
def test_sparse_dictionary_least_squares_and_product_equal_the_dense_ones(n, k, L, seed):
    """From the support, ZᵀZ and Zᵀ M (so C's least squares) and Z C equal the dense formulas: the same sums in
    another order (float64 normal equations: 1e-9 relative; the float32 product: 1e-5)."""
    from workbench.compression.row_sparse import dense, least_squares_dictionary, product, ridge
    g = _gen(seed)
    s = max(1, k // 4)  # sparse enough for the support path (4 s <= k)
    index = torch.rand(n, k, generator=g).argsort(1)[:, :s].sort(1).values
    values = torch.randn(n, s, generator=g)
    Z = torch.zeros(n, k)
    for i in range(n):  # Z written entry by entry, not by the scatter under test
        for j in range(s):
            Z[i, index[i, j]] = values[i, j]
    M, C = torch.randn(n, L, generator=g), torch.randn(k, L, generator=g)
    assert torch.equal(dense(values, index, k), Z)
    torch.testing.assert_close(product(values, index, C), Z @ C, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(least_squares_dictionary(values, index, M, k), ridge(Z, M), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(rank=12, nonzeros_per_row=2, bits_z=3, bits_c=8, row_length=4),
                                dict(rank=12, nonzeros_per_row=1, bits_c=8, row_length=4, z_values="ones"),
                                dict(rank=3, nonzeros_per_row=1, bits_z=1, bits_c=8, row_length=1, init="grid")])
def test_the_pursuit_does_not_depend_on_its_block_size(kw, monkeypatch):
    """The pursuit runs rows in cache-sized blocks; rows are independent, so one row per block and all rows in one
    block give the same fit (the same picks; rounding only in the per-block matmul: 1e-6)."""
    import workbench.compression.sqf as sqf
    W = torch.randn(24, 16, generator=_gen(3))
    fits = []
    for chunk in (1, 1 << 20):
        monkeypatch.setattr(sqf, "_CHUNK", chunk)
        fits.append(SQF(steps=15, **kw).fit(W))
    assert torch.equal(fits[0].z_index_, fits[1].z_index_)
    assert fits[0].relative_error_ == pytest.approx(fits[1].relative_error_, rel=1e-6)
