"""Parameters of the field's benchmark: the Brain-Score export, its score, and the design of the next recording.

Beside :mod:`nwb_it.core.params` (same rules: frozen dataclasses the command line reads its defaults from).
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidParameter
from .params import UNIT_CHOICES, check_window


@dataclass(frozen=True, kw_only=True)
class BrainScoreExportParams:
    """A Brain-Score neural assembly of IT responses (``nwb-it export-brainscore``), by Brain-Score's recipe.

    The defaults are those of Brain-Score's newest temporal IT benchmark recipe (brain-score/vision,
    ``benchmarks/li2026``): the 70-170 ms window in 10 ms bins, neuroids kept when their split-half
    reliability in that window exceeds 0.4, the ceiling the median reliability of those kept.

    Parameters
    ----------
    window : (start, end) seconds from clip onset
    bin_size : seconds per time bin
    units : "responsive" (the reliability table's) or "all" (the recipe: reliability alone selects)
    min_reliability : keep neuroids whose split-half reliability exceeds this; None keeps every unit
    seed : base seed of the reliability's random halves (each session adds a number derived from its
        NWB identifier, so a session's halves do not depend on the other files exported with it)
    """

    window: tuple[float, float] = (0.07, 0.17)
    bin_size: float = 0.01
    units: str = "all"
    min_reliability: float | None = 0.4
    seed: int = 0

    def __post_init__(self) -> None:
        check_window(self.window, self.bin_size)
        if self.units not in UNIT_CHOICES:
            raise InvalidParameter("units", f"`units={self.units}`: use {' or '.join(UNIT_CHOICES)}")
        if self.min_reliability is not None and not -1.0 <= self.min_reliability < 1.0:
            raise InvalidParameter("min_reliability", f"`min_reliability={self.min_reliability}`: a reliability is "
                                   "at most 1; use a value in [-1, 1) or none to keep every unit")
        if not 0 <= self.seed < 2**32:
            raise InvalidParameter("seed", f"`seed={self.seed}`: use an integer in [0, 2**32)")


@dataclass(frozen=True, kw_only=True)
class ScoreParams:
    """Brain-Score's metric on a lab's benchmark (``nwb-it score``); defaults are Brain-Score's ``spantime_pls``.

    Parameters
    ----------
    layer : "all", a layer name, or "a,b": the layers of each activations table scored
    components : PLS components (Brain-Score: 25; fewer only where the features or training samples are fewer)
    splits : cross-validation splits (Brain-Score: 10, each 90 % train, ``random_state=1``)
    """

    layer: str = "all"
    components: int = 25
    splits: int = 10

    def __post_init__(self) -> None:
        if self.components < 1:
            raise InvalidParameter("components", f"`components={self.components}`: must be >= 1")
        if self.splits < 2:
            raise InvalidParameter("splits", f"`splits={self.splits}`: must be >= 2")


@dataclass(frozen=True, kw_only=True)
class DesignParams:
    """Which clips to show next (``nwb-it design``).

    Parameters
    ----------
    n_clips : clips to pick
    power : probability that the right model predicts the new responses better (the repeats are chosen for it)
    window : (start, end) s from onset: the response the models predict (its spike count)
    n_pcs : principal components of each model's features (fitted on the recorded clips) the ridge uses
    seed : seed of the random choices the design is compared with
    """

    n_clips: int = 10
    power: float = 0.8
    window: tuple[float, float] = (0.07, 0.17)
    n_pcs: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_clips < 1:
            raise InvalidParameter("n_clips", f"`n_clips={self.n_clips}`: must be >= 1")
        if not 0.5 <= self.power < 1:
            raise InvalidParameter("power", f"`power={self.power}`: use a value in [0.5, 1)")
        if not self.window[0] < self.window[1]:
            raise InvalidParameter("window", f"`window={self.window}`: start must be before end")
        if self.n_pcs < 1:
            raise InvalidParameter("n_pcs", f"`n_pcs={self.n_pcs}`: must be >= 1")
