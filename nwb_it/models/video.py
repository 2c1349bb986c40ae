"""Clips as video files (mp4, avi, mov, mkv), decoded with PyAV.

A folder of videos is a folder of clips: one file per clip, the file stem being the
clip key, ordered like frame folders (by the integer in the stem's first ``_`` token
when every stem has one, else by name). Every frame is decoded in order (no seeking,
so a frame is the same frame whatever the codec's key frames); the frame rate is the
container's and becomes the activations' clock. A frame of a video is a
:class:`VideoFrame` (file and index), so window planning, streaming and the cache treat
it like a frame file.

Examples
--------
>>> from nwb_it.models.frames import discover_clips
>>> clips = discover_clips("movies")              # doctest: +SKIP
>>> clips[0].key, len(clips[0].frames), clips[0].fps      # doctest: +SKIP
('1_dog', 90, 30.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import NwbItError

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm"}


@dataclass(frozen=True)
class VideoFrame:
    """Frame ``index`` (0-based, in decoding order) of the video file ``path``."""

    path: Path
    index: int

    @property
    def name(self) -> str:
        return f"{self.path.name}#{self.index}"


def _open(path: Path):
    try:
        import av  # optional: only for clips given as video files
    except ImportError:
        raise NwbItError("video clips need PyAV: pip install av", path) from None
    try:
        return av.open(str(path))
    except Exception as exc:  # PyAV raises its own error types per container problem
        raise NwbItError(f"cannot open as video ({exc.__class__.__name__}: {str(exc).splitlines()[0]})", path) \
            from None


def probe(path: Path) -> tuple[int, float]:
    """(frames, frames per second) of a video file: frames counted by decoding, the rate from the container."""
    with _open(path) as container:
        if not container.streams.video:
            raise NwbItError("no video stream in the file", path)
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise NwbItError("the container gives no frame rate", path)
        try:
            n = sum(1 for _ in container.decode(stream))
        except Exception as exc:  # damaged packets: one line naming the file
            raise NwbItError(f"cannot decode ({exc.__class__.__name__})", path) from None
    if n == 0:
        raise NwbItError("the video has no frames", path)
    return n, float(rate)


def decode(frames: list[VideoFrame], size: int) -> list:
    """The PIL images (RGB, size x size, PIL's default filter: as frame files are loaded) of ``frames``.

    Each file is decoded once, from its start, for all of its frames asked for.
    """
    out: dict[VideoFrame, object] = {}
    by_file: dict[Path, set[int]] = {}
    for f in frames:
        by_file.setdefault(f.path, set()).add(f.index)
    for path, wanted in by_file.items():
        last = max(wanted)
        with _open(path) as container:
            for i, frame in enumerate(container.decode(container.streams.video[0])):
                if i in wanted:
                    out[VideoFrame(path, i)] = frame.to_image().convert("RGB").resize((size, size))
                if i >= last:
                    break
        missing = wanted - {f.index for f in out if f.path == path}
        if missing:
            raise NwbItError(f"frame {min(missing)} cannot be decoded (the video has fewer frames)", path)
    return [out[f] for f in frames]
