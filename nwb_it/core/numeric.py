"""Numerical conventions shared by every layer."""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np


@contextlib.contextmanager
def nan_quiet() -> Iterator[None]:
    """NaN-aware reductions of all-NaN rows give NaN by design here (silent units): no warnings."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
