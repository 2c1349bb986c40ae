"""Stimulus images stored inside an NWB file, as clips: one image = a one-frame clip.

A file may hold its stimuli itself: an ``Images`` container (one dataset per image, the
DiCarlo lab's conversion package writes them so) or an ``ImageSeries`` with its frames in
``data``, under ``/stimulus/templates``. :class:`StoredImage` names one such image (the
file, the HDF5 dataset, the frame within it) so that windows, streaming and the cache treat
it like a frame file: it is read with h5py only when the stream needs it, and the cache
digests its pixels (not the whole NWB file, which changes as results are added to it).

Still images suit the image families (one frame a window); a video family would see the
same image padded with grey: :func:`check_still_images` refuses it, naming the families
that take images.

Examples
--------
>>> frame = StoredImage(Path("ses.nwb"), "/stimulus/templates/stimuli/img00")
>>> frame.name
'ses.nwb:/stimulus/templates/stimuli/img00'
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..core.errors import NwbItError


@dataclass(frozen=True)
class StoredImage:
    """Frame ``index`` of the HDF5 dataset ``dataset`` of the NWB file ``path`` (``index`` None: the dataset is
    one image)."""

    path: Path
    dataset: str
    index: int | None = None

    @property
    def name(self) -> str:
        return f"{self.path.name}:{self.dataset}" + ("" if self.index is None else f"#{self.index}")

    def pixels(self) -> np.ndarray:
        try:
            with h5py.File(self.path, "r") as h5:
                data = h5[self.dataset]
                return np.asarray(data[()] if self.index is None else data[self.index])
        except (OSError, KeyError) as exc:
            raise NwbItError(f"cannot read the stored image {self.dataset} ({exc.__class__.__name__})",
                             self.path) from None

    def digest(self) -> str:
        """SHA-256 of the image's pixels and shape (what the cache keys on)."""
        values = self.pixels()
        return hashlib.sha256(str(values.shape).encode() + np.ascontiguousarray(values).tobytes()).hexdigest()


def to_pil(values: np.ndarray, size: int, where: StoredImage):
    """An image array (H x W grey, H x W x 3 RGB or x 4 RGBA; integers 0-255 or floats 0-1) as RGB, resized."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    if values.ndim not in (2, 3) or values.ndim == 3 and values.shape[2] not in (3, 4):
        raise NwbItError(f"stored image {where.dataset} has shape {values.shape}: not H x W (x 3 or 4)", where.path)
    if limit and values.shape[0] * values.shape[1] > limit:
        raise NwbItError(f"refused: stored image {where.dataset} has {values.shape[0] * values.shape[1]} pixels, over "
                         f"the limit of {limit}", where.path)
    if values.dtype.kind == "f":
        values = np.clip(values * (255.0 if values.max(initial=0) <= 1.0 else 1.0), 0, 255)
    image = Image.fromarray(np.asarray(values, dtype=np.uint8))
    return image.convert("RGB").resize((size, size))


def load_stored(frames: list[StoredImage], size: int) -> list:
    """The PIL images (RGB, size x size) of stored images."""
    return [to_pil(f.pixels(), size, f) for f in frames]


def check_still_images(clips, num_frames: int, family: str, image_families: list[str]) -> None:
    """A model that needs several frames a window cannot see still images: one line naming those that can."""
    if num_frames > 1 and clips and all(len(c.frames) == 1 and isinstance(c.frames[0], StoredImage) for c in clips):
        raise NwbItError(f"the clips are still images stored in the file, but the {family} family reads "
                         f"{num_frames} frames a window: use an image family ({', '.join(image_families)})")
