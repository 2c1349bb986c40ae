"""Clip frames streamed to the model: decoded ahead by a thread pool, each frame once, dropped when used.

:class:`ClipStream` holds only the clips the current batch of windows needs plus
``ahead`` clips being decoded, so peak memory does not grow with the number of clips.
Decoding (PIL) and the processor's resize/normalize run in a thread pool, chunk by
chunk, while the model runs (PIL and torch release the GIL in their heavy parts).

On CUDA a clip's padded frames are uploaded once, from pinned memory, on a side
stream (the copy overlaps the forward pass on the compute stream), and windows are
gathered on the device by slicing: a window is never re-stacked on the host.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .frames import Clip, load_frames
from .video import VideoFrame

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
    """Grey-padded, preprocessed frames of clip ``c`` (``stream[c]``), decoded ahead and released after use.

    Parameters
    ----------
    clips : the clips, in the order the windows will ask for them
    preprocess : frames (PIL) -> tensor (n, 3, H, W), per frame
    grey : the preprocessed padding frame (3, H, W)
    pad, size : grey frames on each side; frame side in pixels
    workers : decode threads; ahead : clips decoded ahead of the one in use
    device : where the windows are gathered ("cuda": uploaded once per clip, on a side stream)
    """

    def __init__(self, clips: list[Clip], preprocess, grey, pad: int, size: int, workers: int = 2, ahead: int = 2,
                 device: str = "cpu"):
        import torch

        self.clips, self.preprocess, self.pad, self.size = clips, preprocess, pad, size
        self.grey, self.device, self.ahead = grey, device, max(1, ahead)
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="nwb_it-frames")
        self.pending: dict[int, list[Future]] = {}
        self.ready: dict[int, Any] = {}
        self.copy_stream = torch.cuda.Stream() if device == "cuda" else None
        self.frames_decoded = 0        # every frame once: checked by the tests

    def _decode(self, paths) -> Any:
        return self.preprocess(load_frames(paths, self.size))

    def _submit(self, c: int) -> None:
        if c < len(self.clips) and c not in self.pending and c not in self.ready:
            frames = self.clips[c].frames
            step = len(frames) if frames and isinstance(frames[0], VideoFrame) else CHUNK   # a video decodes in order
            self.pending[c] = [self.pool.submit(self._decode, frames[i:i + step])
                               for i in range(0, len(frames), max(step, 1))]

    def _assemble(self, c: int):
        import torch

        grey = self.grey.expand(self.pad, -1, -1, -1)
        frames = [f.result() for f in self.pending.pop(c)]
        self.frames_decoded += sum(len(f) for f in frames)
        padded = torch.cat([grey, *frames, grey])
        if self.copy_stream is None:
            return padded
        with torch.cuda.stream(self.copy_stream):          # copy overlaps compute on the default stream
            on_device = padded.pin_memory().to("cuda", non_blocking=True)
        event = torch.cuda.Event()
        event.record(self.copy_stream)
        return on_device, event

    def __getitem__(self, c: int):
        import torch

        for k in range(c, c + self.ahead + 1):
            self._submit(k)
        if c not in self.ready:
            self.ready[c] = self._assemble(c)
        nxt = c + 1                                           # start the next upload while this clip computes
        if self.copy_stream is not None and nxt in self.pending and all(f.done() for f in self.pending[nxt]):
            self.ready[nxt] = self._assemble(nxt)
        item = self.ready[c]
        if self.copy_stream is None:
            return item
        on_device, event = item
        torch.cuda.current_stream().wait_event(event)
        on_device.record_stream(torch.cuda.current_stream())  # the allocator must not reuse it while in use
        return on_device

    def release_before(self, c: int) -> None:
        """Drop every clip before ``c``: the windows still to come never need them."""
        for k in [k for k in self.ready if k < c]:
            del self.ready[k]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.ready.clear()
        self.pending.clear()

    def __enter__(self) -> ClipStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
