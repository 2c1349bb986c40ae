"""Clip frames streamed to the model: decoded ahead by a thread pool, each frame once, dropped when passed.

:class:`ClipStream` holds only the chunks of frames the current batch of windows needs
plus ``ahead`` chunks being decoded, so peak memory grows neither with the number of
clips nor with a clip's length. Decoding (PIL/PyAV) and the processor's resize/normalize
run in a thread pool, chunk by chunk, while the model runs (PIL and torch release the
GIL in their heavy parts).
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from .frames import Clip, load_frames
from .video import VideoFrame, VideoReader

CPU_BATCH = 4      # windows per forward pass on the CPU (a GPU: auto_batch_size)
CHUNK = 16         # frames per decode task: enough to amortise a task, small enough to spread a clip over workers


def auto_batch_size(device: str, free_bytes: int | None, tokens: int, hidden: int, n_layers: int, heads: int,
                    bytes_per_value: int = 4, cap: int = 64) -> int:
    """Windows per forward pass: 4 on the CPU; on a GPU the largest power of two whose activations use
    at most half the free memory (hidden states of every layer kept, the MLP's 4x width and one layer's
    attention scores in flight), at most ``cap`` (beyond it throughput no longer grows).

    Examples
    --------
    >>> auto_batch_size("cuda", 80 * 2**30, tokens=1568, hidden=768, n_layers=12, heads=12, bytes_per_value=2)
    64
    >>> auto_batch_size("cuda", 2 * 2**30, tokens=1568, hidden=768, n_layers=12, heads=12, bytes_per_value=2)
    8
    """
    if device != "cuda" or not free_bytes:
        return CPU_BATCH
    per_window = tokens * (hidden * (n_layers + 1 + 4) + heads * tokens) * bytes_per_value
    fit = max(1, int(0.5 * free_bytes // max(per_window, 1)))
    return int(min(cap, 1 << (fit.bit_length() - 1)))


class ClipStream:
    """Grey-padded, preprocessed windows of the clips, decoded ahead in chunks and released once passed.

    Frames are decoded and preprocessed in chunks of :data:`CHUNK` frames in a thread pool,
    ``ahead`` chunks beyond the window in use (into the next clips too); a chunk is dropped
    as soon as the windows have moved past it. Peak memory is a window, a batch's spread and
    the chunks ahead, whatever a clip's length (a 10-minute clip is never held whole). A
    video's chunks are read forward by one :class:`~nwb_it.models.video.VideoReader` per
    clip: each chunk's task waits for the one before (the pool runs tasks in the order they
    were submitted, so that wait always ends), and every frame is decoded once.

    Parameters
    ----------
    clips : the clips, in the order the windows will ask for them
    preprocess : frames (PIL) -> tensor (n, 3, H, W), per frame
    grey : the preprocessed padding frame (3, H, W)
    pad, size : grey frames on each side; frame side in pixels
    workers : decode threads; ahead : chunks decoded ahead of the window in use
    device : where windows are put ("cuda": each window copied there)
    """

    def __init__(self, clips: list[Clip], preprocess, grey, pad: int, size: int, workers: int = 2, ahead: int = 2,
                 device: str = "cpu"):
        self.clips, self.preprocess, self.pad, self.size = clips, preprocess, pad, size
        self.grey, self.device, self.ahead = grey, device, max(1, ahead)
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="nwb_it-frames")
        self.chunks: dict[tuple[int, int], Future] = {}      # (clip, chunk) -> its preprocessed frames
        self._last_submitted: dict[int, Future] = {}           # per video clip: the chunk task to wait for
        self._readers: dict[int, VideoReader] = {}
        self._cursor = (0, 0)                                  # the next chunk to submit, in stream order
        self.frames_decoded = 0        # every frame once: checked by the tests

    def _n_chunks(self, c: int) -> int:
        return -(-len(self.clips[c].frames) // CHUNK)

    def _decode(self, c: int, k: int, before: Future | None):
        frames = self.clips[c].frames[k * CHUNK:(k + 1) * CHUNK]
        if frames and isinstance(frames[0], VideoFrame):
            if before is not None:
                before.result()                                # the reader goes forward, chunk after chunk
            reader = self._readers.setdefault(c, VideoReader(frames[0].path))
            images = reader.read([f.index for f in frames], self.size)
            if (k + 1) * CHUNK >= len(self.clips[c].frames):
                reader.close()
        else:
            images = load_frames(frames, self.size)
        return self.preprocess(images)

    def _submit_until(self, c: int, k: int) -> None:
        """Submit every chunk up to (clip ``c``, chunk ``k``) in stream order, then ``ahead`` more."""
        limit = (c, k)
        extra = sum(1 for key in self.chunks if key > limit)      # already decoding ahead
        while self._cursor[0] < len(self.clips):
            cc, kk = self._cursor
            if kk >= self._n_chunks(cc):
                self._cursor = (cc + 1, 0)
                continue
            if (cc, kk) > limit:
                if extra >= self.ahead:
                    return
                extra += 1
            video = bool(self.clips[cc].frames) and isinstance(self.clips[cc].frames[0], VideoFrame)
            before = self._last_submitted.get(cc) if video else None
            self.chunks[(cc, kk)] = future = self.pool.submit(self._decode, cc, kk, before)
            if video:
                self._last_submitted[cc] = future
            self._cursor = (cc, kk + 1)

    def window(self, c: int, w: int, n: int):
        """Window ``w`` of clip ``c``: padded frames ``w .. w + n - 1`` (grey before and after the clip)."""
        import torch

        n_frames = len(self.clips[c].frames)
        lo, hi = max(0, w - self.pad), min(n_frames, w + n - self.pad)      # clip frames in the window
        parts = [self.grey.expand(max(0, min(n, self.pad - w)), -1, -1, -1)]
        if hi > lo:
            self._submit_until(c, (hi - 1) // CHUNK)
            for k in range(lo // CHUNK, (hi - 1) // CHUNK + 1):
                key = (c, k)
                if key not in self.chunks:                     # released, asked for again: decode it anew
                    self.chunks[key] = self.pool.submit(self._decode, c, k, None)
                frames = self.chunks[key].result()
                first = k * CHUNK
                parts.append(frames[max(lo, first) - first:min(hi, first + len(frames)) - first])
        parts.append(self.grey.expand(n - sum(len(p) for p in parts), -1, -1, -1))
        out = torch.cat(parts)
        return out if self.device == "cpu" else out.to(self.device)

    def release_before(self, c: int, w: int = 0) -> None:
        """Drop every chunk no window from (clip ``c``, window ``w``) on needs."""
        first_needed = max(0, w - self.pad) // CHUNK
        for key in [key for key in self.chunks if key[0] < c or key[0] == c and key[1] < first_needed]:
            future = self.chunks.pop(key)
            if future.done() and future.exception() is None:
                self.frames_decoded += len(future.result())
        for done in [k for k in self._last_submitted if k < c]:
            del self._last_submitted[done]

    def held(self) -> int:
        """Chunks held or being decoded now (each at most :data:`CHUNK` frames)."""
        return len(self.chunks)

    def close(self) -> None:
        for future in self.chunks.values():
            if future.done() and future.exception() is None:
                self.frames_decoded += len(future.result())
        self.pool.shutdown(wait=True, cancel_futures=True)
        for reader in self._readers.values():
            reader.close()
        self.chunks.clear()

    def __enter__(self) -> ClipStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
