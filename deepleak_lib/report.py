"""Glue results into the book's prose.

myst-nb formats ``{glue:text}`key:.1f``` by parsing the stored ``text/plain`` repr, which fails for
NumPy scalars (``np.float64(0.5)``); these helpers convert to plain Python values first.
"""

from __future__ import annotations

import numbers

import numpy as np


def plain(value: object) -> object:
    """A Python scalar for NumPy scalars; other values unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def glue_values(**values: object) -> None:
    """``glue(name, value, display=False)`` for each keyword, as plain Python values."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, plain(value), display=False)
