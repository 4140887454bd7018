"""The notebooks' checked exercises: a right answer passes, a wrong one gets the hint (never the answer), bad
input a message, and every topic's exercises are registered under its slug."""

import importlib

import pytest

from workbench.exercises import EXERCISES, check, exercise, is_close
from workbench.topics import TOPICS


@exercise("demo.square_of_three", hint="multiply the number by itself")
def _square(answer):
    if float(answer) < 0:
        return "a square is never negative"
    return is_close(answer, 3 * 3)


def test_right_wrong_and_unanswered():
    assert check("demo.square_of_three", 9.0).correct
    wrong = check("demo.square_of_three", 6)
    assert not wrong and "multiply the number by itself" in wrong.message and "9" not in wrong.message
    assert "never negative" in check("demo.square_of_three", -9).message  # a checker's own hint
    assert "replace the ..." in check("demo.square_of_three", ...).message
    assert "could not be checked" in check("demo.square_of_three", "nine").message
    assert "✓" in check("demo.square_of_three", 9)._repr_html_()


def test_unknown_exercise_is_named():
    with pytest.raises(ValueError, match="name: expected one of .*got 'demo.nope'"):
        check("demo.nope", 1)
    with pytest.raises(ValueError, match="name: expected '<topic>.<exercise>'"):
        exercise("nodot", hint="")


@pytest.mark.parametrize("slug", [s for s in TOPICS if importlib.util.find_spec(f"workbench.{s}.exercises")])
def test_a_topics_exercises_reject_a_wrong_number(slug):
    importlib.import_module(f"workbench.{slug}.exercises")
    names = [n for n in EXERCISES if n.startswith(slug + ".")]
    assert len(names) >= 2
    for name in names:  # 1e6 is no answer of ours; the check must say so with a hint, not raise
        result = check(name, 1e6)
        assert not result and result.message
