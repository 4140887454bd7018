"""Hypothesis strategies and checks shared by the property tests."""

from hypothesis import strategies as st

__all__ = ["floats", "named_error", "assert_names"]


def floats(*args, **kwargs):
    """``st.floats`` without subnormal numbers. Firedrake's compiled kernels are built with ``-ffast-math``; loading
    one sets the CPU's flush-to-zero mode for the whole process, after which Hypothesis refuses to generate
    subnormals (``FloatingPointError``) in any test that runs later in the same session."""
    return st.floats(*args, **{"allow_subnormal": False, **kwargs})


def named_error(call, names):
    """``call()``, or ``None`` when it raised a ValueError/TypeError naming one of ``names`` first."""
    try:
        return call()
    except (ValueError, TypeError) as e:
        assert str(e).split(":")[0] in names, f"error does not name one of {names}: {e}"
        return None


def assert_names(error: Exception, *names: str) -> None:
    """The message starts with the offending argument's name (``"name: expected ..."``)."""
    head = str(error).split(":")[0]
    assert any(n in head.split(", ") for n in names), (names, str(error))
