"""A lab's benchmark, the scores of models on it, and the clips a design proposes to record next.

* :class:`BenchmarkData` — the neural side of a Brain-Score-style benchmark: the mean response of every
  kept neuroid to every stimulus in every time bin, with the reliabilities and the ceiling;
* :class:`ModelScore` — one (model, layer)'s cross-validated PLS score, raw, ceiled and bounded;
* :class:`DesignResult` — the candidate clips ranked by how far two models' predictions diverge relative
  to the units' noise, the clips picked, and the repeats a stated power needs.
"""
from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field

import numpy as np


def ceiled(raw: float, ceiling: float) -> float:
    """Brain-Score's ceiled score: explained variance ``raw**2 / ceiling`` (the ceiling is a reliability).

    Examples
    --------
    >>> ceiled(0.5, 0.5)
    0.5
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(raw) ** 2 / ceiling)


def bounded(score: float) -> float:
    """A ceiled score held in [0, 1], as Brain-Score reports it (NaN stays NaN)."""
    return float(np.clip(score, 0.0, 1.0)) if np.isfinite(score) else float("nan")


@dataclass(frozen=True)
class BenchmarkData:
    """Mean responses (stimuli x neuroids x bins) of a benchmark's neuroids, with its ceiling.

    Attributes
    ----------
    responses : float (n_stimuli, n_neuroids, n_bins), the mean over repetitions
    stimulus_ids, neuroid_ids : names of the rows and columns
    edges_ms : (n_bins + 1,) bin edges, ms from onset
    reliability : (n_neuroids,) split-half reliability of each neuroid (NaN where unknown)
    ceiling, ceiling_error : median reliability of the neuroids and its bootstrap standard error
    source : where the benchmark came from (an export folder, NWB files), credentials removed
    """

    responses: np.ndarray
    stimulus_ids: list[str]
    neuroid_ids: list[str]
    edges_ms: np.ndarray
    reliability: np.ndarray
    ceiling: float
    ceiling_error: float
    source: str

    @property
    def n_stimuli(self) -> int:
        return len(self.stimulus_ids)

    @property
    def digest(self) -> str:
        """SHA-256 (16 hex digits) of what a score depends on: responses, stimuli, neuroids, bins, ceiling."""
        h = hashlib.sha256()
        for part in (np.ascontiguousarray(self.responses, dtype=np.float64), np.asarray(self.edges_ms, float),
                     np.asarray([self.ceiling, self.ceiling_error], float)):
            h.update(f"{part.shape}".encode() + part.tobytes())
        h.update("\0".join(self.stimulus_ids + ["|"] + self.neuroid_ids).encode())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class ModelScore:
    """One (model, layer)'s score on a benchmark, as Brain-Score reports it.

    ``raw`` is the mean over time bins of the median (over neuroids) cross-validated Pearson r,
    ``ceiled = raw**2 / ceiling`` and ``bounded`` that held in [0, 1]
    (:mod:`nwb_it.process.brainscore`). ``ceiled_error`` is Brain-Score's: the raw score's error,
    carried over unchanged; ``ceiled_error_propagated`` propagates both the raw and the ceiling's
    errors to first order.
    """

    model: str
    layer: str
    per_bin: np.ndarray
    per_bin_error: np.ndarray
    raw: float
    raw_error: float
    ceiling: float
    ceiling_error: float
    n_components: int
    n_stimuli: int
    n_neuroids: int
    edges_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    benchmark: str = ""            # where the benchmark came from, and the digest of its data
    benchmark_digest: str = ""
    model_config: str = ""         # the model's configuration hash, from the activations' provenance
    unconverged: int = 0           # splits whose PLS stopped at scikit-learn's iteration limit

    @property
    def ceiled(self) -> float:
        return ceiled(self.raw, self.ceiling)

    @property
    def bounded(self) -> float:
        return bounded(self.ceiled)

    @property
    def ceiled_error(self) -> float:
        return self.raw_error

    @property
    def ceiled_error_propagated(self) -> float:
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.hypot(2 * self.raw_error / abs(self.raw), self.ceiling_error / self.ceiling)
            return float(abs(self.ceiled) * rel)

    def row(self) -> dict:
        """The summary as one table row (what ``scores.csv`` holds)."""
        return {"model": self.model, "layer": self.layer, "raw": self.raw, "raw_error": self.raw_error,
                "ceiling": self.ceiling, "ceiling_error": self.ceiling_error, "ceiled": self.ceiled,
                "ceiled_error": self.ceiled_error, "ceiled_error_propagated": self.ceiled_error_propagated,
                "bounded": self.bounded, "n_components": self.n_components, "n_stimuli": self.n_stimuli,
                "n_neuroids": self.n_neuroids, "benchmark": self.benchmark,
                "benchmark_digest": self.benchmark_digest, "model_config": self.model_config,
                "pls_unconverged_splits": self.unconverged}


@dataclass(frozen=True)
class DesignResult:
    """What ``nwb-it design`` proposes.

    Attributes
    ----------
    candidates : name of every candidate clip
    pairwise : (n_pairs, n_candidates) each pair of models' squared prediction difference summed over units, each
        unit's difference in units of its single-presentation noise standard deviation; pairs in
        ``itertools.combinations(models, 2)`` order (one row for two models)
    chosen : indices of the picked clips, in the order picked
    repeats : presentations of each chosen clip for the right model to predict better with probability ``power``
    random_repeats : the same for as many clips drawn at random (mean over draws), for comparison
    models : the (model, layer) labels compared
    """

    candidates: list[str]
    pairwise: np.ndarray
    chosen: np.ndarray
    repeats: int
    random_repeats: float
    power: float
    models: tuple[str, ...]
    n_units: int

    @property
    def divergence(self) -> np.ndarray:
        """(n_candidates,) each candidate's divergence: the hardest pair's (the only pair's, for two models)."""
        return self.pairwise.min(0)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(itertools.combinations(self.models, 2))

    @property
    def presentations(self) -> int:
        return int(self.repeats * len(self.chosen))
