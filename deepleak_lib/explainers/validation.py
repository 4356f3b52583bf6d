"""Checkers for explainer settings: each returns the value in a JSON-ready type or raises.

Settings are recorded in artifact metadata and hashed, so only plain ``bool``, ``int``, ``float`` and
``str`` values are accepted (no NumPy scalars, no tuples).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import DeepLeakError

Checker = Callable[[str, str, Any], Any]  # (method, key, value) -> normalised value


def _bad(method: str, key: str, value: Any, expected: str) -> DeepLeakError:
    return DeepLeakError(f"invalid setting {key}={value!r} for explainer {method!r}: expected {expected}")


def int_at_least(lo: int) -> Checker:
    def check(method: str, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise _bad(method, key, value, f"an integer >= {lo}")
        return int(value)

    return check


def float_in(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> Checker:
    """A finite float in the interval; ints are accepted and converted."""
    lo_s, hi_s = ("(" if lo_open else "["), (")" if hi_open else "]")
    expected = f"a number in {lo_s}{lo}, {hi}{hi_s}"

    def check(method: str, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(method, key, value, expected)
        v = float(value)
        ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
        if not ok:
            raise _bad(method, key, value, expected)
        return v

    return check


def positive_float() -> Checker:
    return float_in(0.0, math.inf, lo_open=True, hi_open=True)


def finite_float() -> Checker:
    return float_in(-math.inf, math.inf, lo_open=True, hi_open=True)


def boolean() -> Checker:
    def check(method: str, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise _bad(method, key, value, "true or false")
        return value

    return check


def choice(*options: str) -> Checker:
    def check(method: str, key: str, value: Any) -> str:
        if value not in options:
            raise _bad(method, key, value, "one of " + ", ".join(repr(o) for o in options))
        return str(value)

    return check
