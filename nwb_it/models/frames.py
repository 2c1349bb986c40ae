"""Clip frames on disk: the lab's flat PNG folder, one sub-folder per clip, or one video file per clip.

Flat folder (the seed's ``MOVIE_DATA``): clip key = the first two ``_``-separated
tokens of the file name, clips ordered by the integer in the first token, frames by
the integer in the last token (``12_dog_3.png`` -> clip ``12_dog``, frame 3).
Sub-folders: the folder name is the clip key (ordered by its leading integer when
every name has one, else by name); frames ordered by the integer in the last token.
Video files (mp4, avi, mov, mkv): the stem is the clip key, ordered the same way, every
frame decoded with PyAV and the container's frame rate kept (:mod:`nwb_it.models.video`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from . import video
from .stored import StoredImage, load_stored
from .video import VIDEO_EXTENSIONS, VideoFrame

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp"}


@dataclass
class Clip:
    """One clip: its key and its frames in order (files, or frames of a video file with the video's rate)."""

    key: str
    frames: list[Path] | list[VideoFrame] | list[StoredImage]
    fps: float | None = None           # a video's own frame rate; None for frame files


def _videos(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS]


def _ordered_keys(keys: list[str], root: Path) -> list[str]:
    numbered = all(re.search(r"\d", k.split("_")[0]) for k in keys)
    return sorted(keys, key=lambda k: (frame_number(k, 0, root / k), k) if numbered else (0, k))


def video_clips(root: Path, only: Path | None = None, vfr: str = "refuse") -> list[Clip]:
    """One clip per video file of ``root`` (stem = key; or just the file ``only``), its frames on its constant
    clock (:func:`nwb_it.models.video.probe`: a variable rate is refused, or resampled with ``vfr="resample"``)."""
    files = {p.stem: p for p in (_videos(root) if only is None else [only])}
    clips = []
    for key in _ordered_keys(list(files), root):
        clock = video.probe(files[key], vfr)
        clips.append(Clip(key=key, frames=[VideoFrame(files[key], i) for i in clock.frames], fps=clock.fps))
    return clips


def frame_number(text: str, which: int, path: Path) -> int:
    """The number of a name's first or last ``_`` token: its digits, as the lab's script read them.

    A frame or clip number is never negative: ``f-12`` is frame 12.

    Examples
    --------
    >>> frame_number("c2_mov_f-12", -1, Path("c2_mov_f-12.png"))
    12
    """
    digits = re.sub(r"\D", "", text.split("_")[which])
    if not digits:
        raise NwbItError(f"no digits in the {'first' if which == 0 else 'last'} '_' token of the name "
                         "(expected names like 12_dog_3.png)", path)
    return int(digits)


def _in_order(frames: list[Path]) -> list[Path]:
    """Frames by number; two files with one number would be one frame twice: refused, naming both."""
    numbered = sorted(((frame_number(f.stem, -1, f), f.name, f) for f in frames), key=lambda t: t[:2])
    for (a, _, fa), (b, _, fb) in zip(numbered, numbered[1:]):
        if a == b:
            raise NwbItError(f"frame number {a} appears twice in one clip: {fa.name} and {fb.name}", fa.parent)
    return [f for _, _, f in numbered]


def _images(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS]


def discover_clips(root: str | Path, vfr: str = "refuse") -> list[Clip]:
    """The clips under ``root`` with their frame files in order (``vfr``: what a variable-rate video becomes).

    Examples
    --------
    >>> from nwb_it.examples import example_clip_names, write_example_frames
    >>> clips = discover_clips(write_example_frames("MOVIE_DATA", example_clip_names(3), n_frames=15, size=16))
    >>> clips[0].key, len(clips[0].frames)
    ('1_clip001', 15)
    """
    root = Path(root)
    if not root.is_dir():
        raise NwbItError("frames folder not found", root)
    files = _images(root)
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and _images(p))
    if not files and not subdirs and _videos(root):
        return video_clips(root, vfr=vfr)
    if files:
        groups: dict[str, list[Path]] = {}
        for f in files:
            if f.stem.count("_") < 2:
                raise NwbItError("frame name needs at least three '_' tokens (clipnum_name_frame)", f)
            groups.setdefault("_".join(f.stem.split("_")[:2]), []).append(f)
        keys = sorted(groups, key=lambda k: (frame_number(k, 0, groups[k][0]), k))
    elif subdirs:
        groups = {d.name: _images(d) for d in subdirs}
        keys = _ordered_keys(list(groups), root)
    else:
        raise NwbItError("no frame images (png/jpg) or video files (mp4/avi/mov/mkv) found, neither directly nor in "
                         "sub-folders", root)
    clips = []
    for key in keys:
        clips.append(Clip(key=key, frames=_in_order(groups[key])))
    return clips


def load_frame(path: Path, size: int):
    """One frame as the lab's script loaded it: RGB, resized to size x size (PIL's default filter).

    An image over PIL's pixel limit (``Image.MAX_IMAGE_PIXELS``: a decompression bomb) is refused, one error line
    too: its size is checked from the header before any pixel is decoded (PIL itself only warns up to twice the
    limit; turning that warning into an error would change the process's warning filters, from the decode
    threads at once).
    """

    from PIL import Image

    try:
        with Image.open(path) as img:
            limit = Image.MAX_IMAGE_PIXELS
            if limit and img.size[0] * img.size[1] > limit:
                raise Image.DecompressionBombError(f"Image size ({img.size[0] * img.size[1]} pixels) exceeds limit "
                                                   f"of {limit} pixels")
            return img.convert("RGB").resize((size, size))
    except Image.DecompressionBombError as exc:
        raise NwbItError(f"refused: {str(exc).split('.')[0]} (a frame should be a few hundred pixels wide)",
                         path) from None
    except Exception as exc:  # PIL raises many types on damaged images
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise NwbItError(f"cannot read frame ({exc.__class__.__name__}: {detail})", path) from None


def load_frames(frames: list, size: int) -> list:
    """:func:`load_frame` of every frame file, the decoded frames of a video (each file decoded once), or the
    images stored in an NWB file."""
    if frames and isinstance(frames[0], VideoFrame):
        out = {}
        for path in dict.fromkeys(f.path for f in frames):        # each file read forward once
            indices = sorted({f.index for f in frames if f.path == path})
            reader = video.VideoReader(path)
            try:
                out.update(zip(((path, i) for i in indices), reader.read(indices, size)))
            finally:
                reader.close()
        return [out[(f.path, f.index)] for f in frames]
    if frames and isinstance(frames[0], StoredImage):
        return load_stored(frames, size)
    return [load_frame(p, size) for p in frames]


def clips_fps(clips: list[Clip], default: float) -> float:
    """The clock of these clips: their videos' common frame rate, or ``default`` for frame files."""
    rates = {c.fps for c in clips if c.fps is not None}
    if not rates:
        return default
    if len(rates) > 1 or len(rates) == 1 and any(c.fps is None for c in clips):
        raise NwbItError(f"the clips' videos have different frame rates ({', '.join(f'{r:g}' for r in sorted(rates))}"
                         " fps): one clock needs one rate")
    return rates.pop()


def grey_frame(size: int, grey: int | str | Path = 128):
    """The padding frame: uniform grey (0-255) or an image file, RGB size x size."""
    from PIL import Image

    if isinstance(grey, (int, np.integer)):
        if not 0 <= int(grey) <= 255:
            raise NwbItError(f"grey value {grey} must be between 0 and 255")
        return Image.new("RGB", (size, size), (int(grey),) * 3)
    return load_frame(Path(grey), size)
