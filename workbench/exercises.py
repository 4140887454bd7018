"""Checked "try this" exercises for the notebooks: a check says whether an answer is right and, when it is not, gives
a hint, never the answer.

A topic registers its exercises with :func:`exercise`; a notebook cell calls :func:`check` with the exercise's
name and the learner's answer. The checker computes the truth from the library itself (no number is typed in
twice), so an exercise stays right when the code changes::

    @exercise("nm_sparsity.mvue_keep_probability", hint="p_i = |a_i| / (|a_1| + |a_2|) for 1:2")
    def _(answer):
        truth = mvue_probabilities(torch.tensor([[3.0, -1.0]]), 1, 2)[0, 0]
        return is_close(answer, truth, rel=1e-3)

    check("nm_sparsity.mvue_keep_probability", 0.75)   # -> ✓ right, or ✗ with the hint

A checker returns ``True`` (right), ``False`` (wrong: the registered hint is shown) or a string (wrong: that
string is the hint, e.g. "you gave a probability above 1").
"""

from __future__ import annotations

import html
import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Exercise", "Result", "exercise", "check", "is_close", "EXERCISES"]


@dataclass(frozen=True)
class Exercise:
    name: str
    checker: Callable[[Any], bool | str]
    hint: str


@dataclass(frozen=True)
class Result:
    """What :func:`check` returns: shown as a green tick or a red cross with a hint, in a notebook or a terminal."""

    name: str
    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return f"{'✓' if self.correct else '✗'} {self.name}: {self.message}"

    def _repr_html_(self) -> str:
        color = "#2f6f4f" if self.correct else "#c0392b"
        mark = "✓" if self.correct else "✗"
        return (f'<div style="border-left:4px solid {color};padding:4px 10px;margin:4px 0">'
                f'<b style="color:{color}">{mark}</b> {html.escape(self.message)}</div>')

    def __repr__(self) -> str:
        return str(self)


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, hint: str) -> Callable:
    """Register the decorated function as the checker of exercise ``name`` (``"<slug>.<what>"``)."""
    if not isinstance(name, str) or "." not in name:
        raise ValueError(f"name: expected '<topic>.<exercise>', got {name!r}")

    def register(checker: Callable[[Any], bool | str]) -> Callable:
        EXERCISES[name] = Exercise(name, checker, hint)
        return checker

    return register


def _load(name: str) -> Exercise:
    if name not in EXERCISES:
        topic = name.split(".")[0]
        try:  # a topic's exercises live in workbench/<topic>/exercises.py and register on import
            importlib.import_module(f"workbench.{topic}.exercises")
        except ModuleNotFoundError:
            pass
    if name not in EXERCISES:
        known = sorted(EXERCISES) or ["(none registered)"]
        raise ValueError(f"name: expected one of {', '.join(known)}, got {name!r}")
    return EXERCISES[name]


def check(name: str, answer: Any) -> Result:
    """Check ``answer`` to exercise ``name``. ``None`` (the cell left as it was) asks for an answer."""
    ex = _load(name)
    if answer is None or answer is Ellipsis:
        return Result(name, False, "replace the ... with your answer, then run the cell again")
    try:
        verdict = ex.checker(answer)
    except (TypeError, ValueError) as e:
        return Result(name, False, f"that answer could not be checked ({e}); {ex.hint}")
    if verdict is True:
        return Result(name, True, "right")
    return Result(name, False, verdict if isinstance(verdict, str) else f"not yet: {ex.hint}")


def is_close(answer: Any, truth: float, rel: float = 1e-3, abs_tol: float = 1e-9) -> bool:
    """``answer`` (a number, or a 1-element tensor or array) within ``rel`` of ``truth``."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"expected a number, got {type(answer).__name__}") from None
    return math.isfinite(value) and math.isclose(value, float(truth), rel_tol=rel, abs_tol=abs_tol)
