"""kernels.profile: the fused CPU path makes no pass over memory outside its kernel; the generic path makes many,
the finiteness check and (MVUE) the uniforms among them."""

import pytest

from kernels import _numba, profile


@pytest.fixture(scope="module")
def rows():
    return profile.run("64K", "cpu", repeat=1)


def test_profile_covers_every_op_and_path(rows):
    paths = set(profile.paths("cpu"))
    assert {(r["op"], r["n"], r["m"], r["path"]) for r in rows} == {
        (op, n, m, path) for op, n, m in profile.OPS for path in paths}
    assert all(r["ms"] > 0 and r["clone_ms"] > 0 for r in rows)


@pytest.mark.skipif(not _numba.numba_ok(), reason="numba is not installed")
def test_fused_path_has_no_pass_outside_its_kernel(rows):
    for r in (r for r in rows if r["path"] == "fused"):
        assert r["passes"] == [] and r["rng"] == 0 and r["kernels"], r
        assert r["syncs"] == (1 if r["op"] == "mvue_prune" else 0)  # drawing the key from the generator


def test_generic_path_passes_are_counted(rows):
    for r in (r for r in rows if r["path"] == "generic"):
        assert "aten::isfinite" in r["passes"] and len(r["passes"]) >= 10, r
        assert r["rng"] > 0 if r["op"] == "mvue_prune" else r["rng"] == 0
        assert r["rng"] < len(r["passes"])


def test_format_rows_has_one_line_per_row(rows):
    assert len(profile.format_rows(rows).splitlines()) == len(rows) + 1
