"""The in-memory recording session: spikes of every unit in every presentation."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Session:
    """One recording session, as a source format reads it (the lab's ``L2_str`` MAT struct is one).

    Spike times are kept flat (one float64 array) with a count per
    (unit, presentation), so every operation on them can be vectorised.
    Presentations are numbered clip-major: clip 0's repeats, then clip 1's, ...

    Attributes
    ----------
    unit_names : list of str
        One name per unit (the source's ``neuron_id``).
    clip_names : list of str
        One name per clip (the source's ``itemnames``).
    n_repeats : ndarray of int, shape (n_clips,)
        Number of presentations (repeats) of each clip; may be 0.
    spike_counts : ndarray of int, shape (n_units, n_presentations)
        Spikes of each unit in each presentation.
    spike_times : ndarray of float64
        Onset-aligned spike times in seconds, ordered unit, presentation, then
        as in the source (negative = before clip onset).
    fields : dict
        Every other field of the source struct, decoded (numeric arrays keep
        their MATLAB shape; cells are object arrays; structs are dicts).
    source_path : Path or None
    header : str
        The MAT file's text header ("MATLAB 7.3 MAT-file, ... Created on: ...").
    created : datetime or None
        The header's ``Created on`` date (naive: MAT headers carry no timezone).
    format : str
        The source format, in words (e.g. "MATLAB 7.3").
    struct : str
        The name the source gives the whole session (e.g. ``L2_str``), for descriptions.
    clip_field : str
        The source field naming the clips (e.g. ``itemnames``), for descriptions.
    order_field : str or None
        The field in ``fields`` that gives each presentation's trial number, if any: the NWB
        trials are laid on the clock in its order (else in clip order).

    Examples
    --------
    >>> import numpy as np
    >>> s = Session(unit_names=["u0"], clip_names=["a", "b"], n_repeats=np.array([1, 2]),
    ...             spike_counts=np.array([[2, 0, 1]]), spike_times=np.array([0.1, 0.2, -0.01]))
    >>> s.spikes(0, 1, 1)
    array([-0.01])
    """

    unit_names: list[str]
    clip_names: list[str]
    n_repeats: np.ndarray
    spike_counts: np.ndarray
    spike_times: np.ndarray
    fields: dict[str, Any] = field(default_factory=dict)
    source_path: Path | None = None
    header: str = ""
    created: datetime | None = None
    format: str = ""
    struct: str = "session"
    clip_field: str = "clip names"
    order_field: str | None = None

    def __post_init__(self) -> None:
        self.n_repeats = np.asarray(self.n_repeats, dtype=np.int64)
        self.spike_counts = np.asarray(self.spike_counts, dtype=np.int64).reshape(
            len(self.unit_names), int(self.n_repeats.sum()))
        self.spike_times = np.asarray(self.spike_times, dtype=np.float64)
        if self.spike_counts.sum() != self.spike_times.size:
            raise ValueError("spike_counts do not add up to the number of spike_times")
        if len(self.clip_names) != self.n_repeats.size:
            raise ValueError("one clip name per clip is needed")

    @property
    def n_units(self) -> int:
        return len(self.unit_names)

    @property
    def n_clips(self) -> int:
        return int(self.n_repeats.size)

    @property
    def n_presentations(self) -> int:
        return int(self.n_repeats.sum())

    @property
    def presentation_clip(self) -> np.ndarray:
        """Clip index of each presentation (clip-major order)."""
        return np.repeat(np.arange(self.n_clips), self.n_repeats)

    @property
    def presentation_repeat(self) -> np.ndarray:
        """Repeat index of each presentation within its clip."""
        starts = np.cumsum(self.n_repeats) - self.n_repeats
        return np.arange(self.n_presentations) - np.repeat(starts, self.n_repeats)

    @property
    def spike_offsets(self) -> np.ndarray:
        """Offsets of each (unit, presentation) run in ``spike_times``, unit-major, plus the end."""
        return np.concatenate([[0], np.cumsum(self.spike_counts.ravel())])

    def presentation_index(self, clip: int, repeat: int) -> int:
        if not 0 <= repeat < self.n_repeats[clip]:
            raise IndexError(f"clip {clip} has {self.n_repeats[clip]} repeats, not {repeat + 1}")
        return int(self.n_repeats[:clip].sum() + repeat)

    def spikes(self, unit: int, clip: int, repeat: int) -> np.ndarray:
        """Onset-aligned spike times of one unit in one presentation."""
        flat = unit * self.n_presentations + self.presentation_index(clip, repeat)
        offsets = self.spike_offsets
        return self.spike_times[offsets[flat]:offsets[flat + 1]]

    def spike_owner(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit and presentation index of every spike in ``spike_times``."""
        flat = np.repeat(np.arange(self.spike_counts.size), self.spike_counts.ravel())
        return flat // max(self.n_presentations, 1), flat % max(self.n_presentations, 1)

    def nested(self) -> list[list[list[np.ndarray]]]:
        """Spikes as the seed's nested lists: ``[unit][clip][repeat] -> array``."""
        offsets = self.spike_offsets
        starts = np.cumsum(self.n_repeats) - self.n_repeats
        out = []
        for u in range(self.n_units):
            base = u * self.n_presentations
            out.append([[self.spike_times[offsets[base + s + r]:offsets[base + s + r + 1]]
                         for r in range(n)] for s, n in zip(starts, self.n_repeats)])
        return out
