"""The bits-per-weight accountant: known answers (the docs' worked example among them)."""

import pytest

from workbench.compression.storage import Storage, dense_values, index_bits, position_bits, sparse_values


def test_positions_are_ceil_log2():
    assert [position_bits(n) for n in (1, 2, 3, 4, 5, 256, 257)] == [0, 1, 2, 2, 3, 8, 9]


def test_index_bits_take_the_cheaper_of_list_and_bitmap():
    # 2 of 64: a list of two 6-bit positions (12) beats a 64-bit bitmap; 40 of 64: the bitmap (64 < 240)
    assert index_bits((10, 2), 64) == 10 * 12
    assert index_bits((10, 40), 64) == 10 * 64
    assert index_bits((3, 64), 64) == 0  # dense rows need no positions
    assert index_bits([2, 40, 64], 64) == 12 + 64 + 0


def test_worked_example_of_the_docs():
    # W 256 x 256 as rows of 4 (16,384 rows), k = 64 codewords, 1 non-zero per row at 1 bit, C at 8 bits:
    # values 16,384 bits, positions 16,384 * 6, one Z scale, C 64 * 4 * 8 bits and one C scale
    s = Storage(65_536) + sparse_values(16_384, 64, 1, 1, 1) + dense_values(64 * 4, 8, 1)
    assert (s.values, s.indices, s.scales) == (16_384 + 2_048, 98_304, 64)
    assert s.bits == 116_800
    assert s.bits_per_weight == pytest.approx(1.7822, abs=1e-4)
    assert s.compression_ratio == pytest.approx(32 / 1.7822, rel=1e-3)


def test_storages_add_and_refuse_bad_counts():
    assert (Storage(10, values=5) + Storage(6, scales=32)).as_dict()["bits"] == 37
    with pytest.raises(ValueError, match="nonzeros_per_row"):
        index_bits([3, 70], 64)
    with pytest.raises(ValueError, match="nonzeros_per_row"):
        sparse_values(3, 8, [1, 2], 4, 1)
    with pytest.raises(ValueError, match="values"):
        Storage(4, values=-1)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(deadline=None, max_examples=100)
@given(st.integers(1, 300), st.lists(st.integers(0, 300), min_size=1, max_size=20))
def test_index_bits_never_exceed_a_bitmap_or_a_list(length, counts):
    counts = [min(c, length) for c in counts]
    bits = index_bits(counts, length)
    # each row pays at most its bitmap (length bits) and at most its position list, and nothing when dense
    assert 0 <= bits <= sum(min(length, c * position_bits(length)) for c in counts)
    assert bits == sum(0 if c == length else min(length, c * position_bits(length)) for c in counts)
