"""What analyses need of a recording, whatever file it came from: spike trains, presentations, and the
onset-aligned counts binned from them.

The ``nwb`` layer fills these from an NWB file; ``process`` functions take them and
never see a file.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .params import PresentationSpec, to_dict


def default_selection() -> dict:
    """The default :class:`~nwb_it.core.params.PresentationSpec`, as stored with results."""
    return to_dict(PresentationSpec())


@dataclass
class SpikeTrains:
    """Every unit's spike times on the session clock, flat, with each unit's run.

    Attributes
    ----------
    times : float64 (n_spikes,), ascending within each unit's run
    bounds : int64 (n_units + 1,): unit ``u`` owns ``times[bounds[u]:bounds[u + 1]]``
    names : list of str, one per unit
    obs_intervals : per unit, (k, 2) intervals in which it was observed; None = always

    Examples
    --------
    >>> st = SpikeTrains(np.array([0.1, 0.5, 0.2]), np.array([0, 2, 3]), ["a", "b"])
    >>> st.unit(1)
    array([0.2])
    """

    times: np.ndarray
    bounds: np.ndarray
    names: list[str]
    obs_intervals: list[np.ndarray] | None = None

    @property
    def n_units(self) -> int:
        return int(self.bounds.size - 1)

    def unit(self, u: int) -> np.ndarray:
        return self.times[self.bounds[u]:self.bounds[u + 1]]


@dataclass
class Presentations:
    """One row per stimulus presentation (a trial), in table order.

    Attributes
    ----------
    onset : clip onset on the session clock (s)
    start, stop : the presentation's window on the session clock (s)
    clip : 0-based clip index (the source's ``stimulus_index``)
    repeat : 0-based repeat index within the clip
    names : clip name of each presentation
    bounded : the start..stop windows hold everything recorded around each onset (nwb_it's own
        files), so an analysis window must lie inside them; otherwise only ``obs_intervals`` bound it
    rows : each presentation's row in the table it was read from (None: row i is presentation i)
    selection : how they were chosen from the file (its :class:`~nwb_it.core.params.PresentationSpec`, as a
        dict); every result computed from them stores it
    """

    onset: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    clip: np.ndarray
    repeat: np.ndarray
    names: np.ndarray
    bounded: bool = False
    rows: np.ndarray | None = None
    selection: dict = dataclasses.field(default_factory=default_selection)

    def __len__(self) -> int:
        return int(self.onset.size)


@dataclass
class AlignedCounts:
    """Spike counts per unit, presentation and bin: memory follows the presentations.

    Presentations are stored clip-major (by clip, then repeat), one row each, so a
    session with one blank shown 2,000 times and 2,000 images shown once holds 4,000
    rows, not 2,001 x 2,000 (clip x repeat) cells. The dense (unit, clip, repeat, bin)
    view of earlier versions is still there (:attr:`counts`, :attr:`mask`), built on
    first use, for analyses that want it.

    Attributes
    ----------
    presentation_counts : int (n_units, n_presentations, n_bins), 0 where the unit was not observed
    clip_of : int (n_presentations,): position of each presentation's clip in ``clip_names`` (ascending)
    repeat : int (n_presentations,): its repeat index within the clip (unique per clip)
    edges : (n_bins + 1,) bin edges in seconds relative to clip onset
    unit_ids : rows of the units table
    unit_names, clip_names : list of str
    clip_index : each clip's ``stimulus_index``
    rows : int (n_presentations,): each presentation's row in the presentations table
    seen : bool (n_units, n_presentations) or None: whether each unit was observed
        (``obs_intervals``) during each presentation's window; None = every unit always
    selection : the presentations' :attr:`Presentations.selection`
    """

    presentation_counts: np.ndarray
    clip_of: np.ndarray
    repeat: np.ndarray
    edges: np.ndarray
    unit_ids: np.ndarray
    unit_names: list[str]
    clip_names: list[str]
    clip_index: np.ndarray
    rows: np.ndarray
    seen: np.ndarray | None = None
    selection: dict = dataclasses.field(default_factory=default_selection)

    @classmethod
    def from_dense(cls, counts: np.ndarray, mask: np.ndarray, edges: np.ndarray, unit_ids: np.ndarray,
                   unit_names: list[str], clip_names: list[str], clip_index: np.ndarray,
                   observed: np.ndarray | None = None) -> AlignedCounts:
        """From (units, clips, repeats, bins) counts and the (clips, repeats) mask of what was presented."""
        clip_of, repeat = np.nonzero(mask)                         # clip-major, as stored
        return cls(presentation_counts=counts[:, clip_of, repeat], clip_of=clip_of, repeat=repeat, edges=edges,
                   unit_ids=np.asarray(unit_ids), unit_names=list(unit_names), clip_names=list(clip_names),
                   clip_index=np.asarray(clip_index), rows=np.arange(clip_of.size),
                   seen=None if observed is None else observed[:, clip_of, repeat])

    def select_units(self, rows: np.ndarray) -> AlignedCounts:
        """The same counts for a subset of the units (rows of this object)."""
        return dataclasses.replace(self, presentation_counts=self.presentation_counts[rows],
                                   unit_ids=self.unit_ids[rows], unit_names=[self.unit_names[r] for r in rows],
                                   seen=None if self.seen is None else self.seen[rows])

    def select_presentations(self, keep: np.ndarray) -> AlignedCounts:
        """The same units on a subset of the presentations (a clip left without any drops out)."""
        keep = np.asarray(keep, dtype=bool)
        clips = np.unique(self.clip_of[keep])
        return dataclasses.replace(self, presentation_counts=self.presentation_counts[:, keep],
                                   clip_of=np.searchsorted(clips, self.clip_of[keep]), repeat=self.repeat[keep],
                                   rows=self.rows[keep], clip_names=[self.clip_names[c] for c in clips],
                                   clip_index=self.clip_index[clips],
                                   seen=None if self.seen is None else self.seen[:, keep])

    def fully_observed(self) -> np.ndarray:
        """Rows of the units observed during every presentation."""
        if self.seen is None:
            return np.arange(self.n_units)
        return np.flatnonzero(self.seen.all(1))

    @property
    def n_units(self) -> int:
        return int(self.presentation_counts.shape[0])

    @property
    def clip_starts(self) -> np.ndarray:
        """First presentation of each clip (presentations are clip-major; every clip has one or more)."""
        return np.searchsorted(self.clip_of, np.arange(len(self.clip_names)))

    @property
    def n_repeats(self) -> np.ndarray:
        return np.bincount(self.clip_of, minlength=len(self.clip_names))

    @property
    def bin_size(self) -> float:
        return float(self.edges[1] - self.edges[0])

    @property
    def bin_centres(self) -> np.ndarray:
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @cached_property
    def mask(self) -> np.ndarray:
        """Dense view: (n_clips, n_repeats_max) bool, which (clip, repeat) was presented."""
        out = np.zeros((len(self.clip_names), int(self.repeat.max()) + 1), dtype=bool)
        out[self.clip_of, self.repeat] = True
        return out

    @cached_property
    def counts(self) -> np.ndarray:
        """Dense view: (n_units, n_clips, n_repeats_max, n_bins), 0 where not presented or not observed."""
        out = np.zeros((self.n_units, *self.mask.shape, self.presentation_counts.shape[2]),
                       dtype=self.presentation_counts.dtype)
        out[:, self.clip_of, self.repeat] = self.presentation_counts
        return out

    @cached_property
    def observed(self) -> np.ndarray | None:
        """Dense view of ``seen``: (n_units, n_clips, n_repeats_max), or None when every unit was always observed."""
        if self.seen is None:
            return None
        out = np.zeros((self.n_units, *self.mask.shape), dtype=bool)
        out[:, self.clip_of, self.repeat] = self.seen
        return out

    @property
    def unit_mask(self) -> np.ndarray:
        """Dense (n_units, n_clips, n_repeats_max): presented and observed."""
        if self.seen is None:
            return np.broadcast_to(self.mask, (self.n_units, *self.mask.shape))
        return self.observed & self.mask[None]

    def mean_rates(self) -> np.ndarray:
        """Repeat-averaged firing rate in spikes/s, (n_units, n_clips, n_bins); NaN for unobserved clips."""
        starts = self.clip_starts
        sums = np.add.reduceat(self.presentation_counts, starts, axis=1)
        seen = np.ones(self.presentation_counts.shape[:2], dtype=np.int64) if self.seen is None else self.seen
        n = np.add.reduceat(seen.astype(np.int64), starts, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums / (n[:, :, None] * self.bin_size)
