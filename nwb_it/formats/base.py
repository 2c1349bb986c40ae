"""The interface every source format implements, shaped like NeuroConv's data interfaces.

A source reads its files into a :class:`~nwb_it.core.session.Session`, says what
metadata it knows (:meth:`get_metadata`) and in which shape metadata is accepted
(:meth:`get_metadata_schema`), and adds its data to an ``NWBFile``
(:meth:`add_to_nwbfile`). ``steps.convert`` deep-merges the user's YAML over
:meth:`get_metadata`, validates it, builds the ``NWBFile`` and writes it atomically.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from ..core.session import Session
from ..nwb.metadata import metadata_schema


class SourceInterface(ABC):
    """One recording session in some source format."""

    @abstractmethod
    def read(self) -> Session:
        """The session (read once; later calls return the same object)."""

    @abstractmethod
    def get_metadata(self) -> dict[str, Any]:
        """Metadata the source itself gives (sections NWBFile, Subject, Ecephys, Units)."""

    def get_metadata_schema(self) -> dict[str, Any]:
        """JSON schema of the metadata this source accepts."""

        return metadata_schema()

    def sniff(self) -> None:  # noqa: B027  (optional: a source without a cheap check accepts every file here)
        """A cheap check (no full read) that the file is of this format; raises NwbItError if not."""

    def session_start_fallback(self) -> tuple[datetime, str] | None:
        """A start time the source can vouch for only loosely (no timezone), and where it came from."""
        return None

    @abstractmethod
    def add_to_nwbfile(self, nwbfile, metadata: dict[str, Any]) -> None:
        """Add electrodes, units, trials and the source's other fields to ``nwbfile``."""
