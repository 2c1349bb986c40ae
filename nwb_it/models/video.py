"""Clips as video files (mp4, avi, mov, mkv), decoded with PyAV.

A folder of videos is a folder of clips: one file per clip, the file stem being the
clip key, ordered like frame folders (by the integer in the stem's first ``_`` token
when every stem has one, else by name). Every frame is decoded in order (no seeking,
so a frame is the same frame whatever the codec's key frames); the frame rate is the
container's and becomes the activations' clock, checked against every frame's
presentation timestamp (a variable rate is refused or resampled: :func:`probe`), the
frame count against the header, the frame size against PIL's pixel limit. A frame of a video is a
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

import numpy as np

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


#: What a variable-frame-rate video becomes: refused (the default), or resampled to its average rate.
VFR_RULES = ("refuse", "resample")


@dataclass(frozen=True)
class VideoClock:
    """A video as decoded: the frames to use (indices in decoding order, a frame repeated where a variable
    rate is resampled), its constant rate, and each decoded frame's presentation time (s, from the first)."""

    frames: list[int]
    fps: float
    times: tuple[float, ...]


def _pixel_limit() -> int | None:
    from PIL import Image

    return Image.MAX_IMAGE_PIXELS


def _declared_frames(stream, container, fps: float) -> int:
    """Frames the header declares (its frame count, else its duration at ``fps``); 0 when it says neither."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration is not None and stream.time_base is not None:
        return int(round(float(stream.duration * stream.time_base) * fps))
    return int(round(container.duration / 1e6 * fps)) if container.duration else 0


def probe(path: Path, vfr: str = "refuse") -> VideoClock:
    """The clock of a video file: every frame decoded (counted, its PTS read), checked against the header.

    * a frame larger than PIL's pixel limit for images (``Image.MAX_IMAGE_PIXELS``) is refused before any
      frame is decoded: one 12000 x 12000 frame is 430 MB as RGB;
    * fewer frames than the header declares (a file cut short) is refused;
    * presentation times that stray more than half a frame from the constant-rate clock (a variable frame
      rate) are refused, unless ``vfr="resample"``: then the clip is the frame shown at each tick ``k / fps``
      of its typical rate (1 / the median interval between frames; the container's average rate where the two
      agree within 1 %): the last frame whose PTS is at or before the tick.
    """
    if vfr not in VFR_RULES:
        raise NwbItError(f"`vfr={vfr}`: use {' or '.join(VFR_RULES)}")
    with _open(path) as container:
        if not container.streams.video:
            raise NwbItError("no video stream in the file", path)
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise NwbItError("the container gives no frame rate", path)
        fps = float(rate)
        limit = _pixel_limit()
        width, height = stream.codec_context.width, stream.codec_context.height
        if limit and width * height > limit:
            raise NwbItError(f"refused: frames of {width} x {height} = {width * height} pixels are over the limit of "
                             f"{limit} pixels images have (a frame should be a few hundred pixels wide)", path)
        pts, damaged = [], ""
        try:
            for frame in container.decode(stream):
                pts.append(None if frame.pts is None or frame.time_base is None else float(frame.pts * frame.time_base))
        except Exception as exc:  # damaged packets (a file cut short mid-frame): one line naming the file
            damaged = exc.__class__.__name__
        declared = _declared_frames(stream, container, fps)
    n = len(pts)
    if damaged:
        said = f"the header declares {declared} frames but {n} decode" if declared else f"{n} frames decode"
        raise NwbItError(f"{said}, then damaged data ({damaged}): the file is cut short or damaged", path)
    if n == 0:
        raise NwbItError("the video has no frames", path)
    if declared and n < declared - 1:           # one frame of slack: a duration rounds
        raise NwbItError(f"the header declares {declared} frames but {n} decode: the file is cut short or damaged",
                         path)
    if any(t is None for t in pts):             # no timestamps (some AVI): the container's rate is all there is
        return VideoClock(list(range(n)), fps, tuple(i / fps for i in range(n)))
    times = [t - pts[0] for t in pts]
    if n > 1:                   # the typical rate (1 / the median interval): the container's average if it agrees
        typical = 1.0 / max(float(np.median(np.diff(times))), 1e-9)
        fps = fps if abs(typical - fps) <= 0.01 * fps else typical
    drift = max(abs(t - i / fps) for i, t in enumerate(times))
    if drift <= 0.5 / fps:
        return VideoClock(list(range(n)), fps, tuple(times))
    if vfr == "refuse":
        steps = [b - a for a, b in zip(times, times[1:])]
        raise NwbItError(f"variable frame rate: frames {min(steps) * 1000:.1f} to {max(steps) * 1000:.1f} ms apart "
                         f"(a constant {fps:g} fps clock would be {drift * 1000:.0f} ms off): re-encode at a constant "
                         "rate, or pass `vfr=\"resample\"` to take the frame shown at each 1/fps tick", path)
    ticks = int(np.floor(times[-1] * fps + 1e-9)) + 1
    shown = np.searchsorted(np.asarray(times), np.arange(ticks) / fps + 1e-9, side="right") - 1
    return VideoClock([int(i) for i in shown], fps, tuple(times))


class VideoReader:
    """Frames of one video file read forward, chunk by chunk, without decoding it again from its start.

    A clip's chunks are asked for in order (:class:`~nwb_it.models.stream.ClipStream` chains their tasks),
    so each frame is decoded once; the last frame is kept for a resampled clip that shows it again; asking
    for an earlier frame starts the file again.
    """

    def __init__(self, path: Path):
        self.path, self._container, self._frames, self._next, self._last = path, None, None, 0, None

    def read(self, indices: list[int], size: int) -> list:
        """The PIL images (RGB, size x size) of frames ``indices`` (ascending; a frame may repeat)."""
        out = []
        for index in indices:
            if self._last is not None and self._last[0] == index:
                out.append(self._last[1])
                continue
            if self._container is None or index < self._next:
                self.close()
                self._container = _open(self.path)
                self._frames, self._next = self._container.decode(self._container.streams.video[0]), 0
            while True:
                frame = next(self._frames, None)
                if frame is None:
                    raise NwbItError(f"frame {index} cannot be decoded (the video has fewer frames)", self.path)
                self._next += 1
                if self._next - 1 == index:
                    self._last = (index, frame.to_image().convert("RGB").resize((size, size)))
                    out.append(self._last[1])
                    break
        return out

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = self._frames = self._last = None
