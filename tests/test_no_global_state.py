"""Library calls leave the process as they found it: environment, RNG state, logger levels, torch flags."""
from __future__ import annotations

import logging
import os

import torch

from nwb_it.core.params import ExtractionParams, ReliabilityParams
from nwb_it.examples.random_model import save_random_model
from nwb_it.models.frames import discover_clips
from nwb_it.models.windows import extract
from nwb_it.nwb.io import reading
from nwb_it.process.reliability import reliability
from nwb_it.steps import read_aligned


def _state():
    import elephant.utils
    from transformers.utils import logging as hf_logging

    return {"environ": dict(os.environ), "torch_rng": torch.get_rng_state().clone(),
            "tf32": (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32),
            "elephant": elephant.utils.logger.level, "distributed": logging.getLogger("distributed").level,
            "transformers": (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled())}


def test_extraction_models_and_statistics_restore_process_state(small_nwb, tmp_path):
    from nwb_it.examples import example_clip_names, write_example_frames

    def work(run: int) -> None:
        model = save_random_model(tmp_path / f"model{run}", "videomae", seed=3)
        frames = write_example_frames(tmp_path / f"frames{run}", example_clip_names(3), n_frames=6)
        extract(discover_clips(frames), ExtractionParams(model=str(model), pad=2))
        with reading(small_nwb) as nwb:
            reliability(read_aligned(nwb), ReliabilityParams(n_perm=10))

    environ = dict(os.environ)
    work(0)                     # first imports may set their own state: the second run must change nothing
    torch.manual_seed(1234)
    before = _state()
    work(1)
    after = _state()
    torch_own = {k for k in after["environ"] if k.startswith("TORCHINDUCTOR_")}   # torch's import notes its cache
    changed = set(after["environ"].items()) ^ set(environ.items())
    assert {k for k, _ in changed} <= torch_own, changed
    assert torch.equal(after["torch_rng"], before["torch_rng"]), "the caller's torch random state is kept"
    assert {k: v for k, v in after.items() if k not in ("environ", "torch_rng")} == \
        {k: v for k, v in before.items() if k not in ("environ", "torch_rng")}


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_quieting_and_bars_act_on_the_asking_thread_only():
    """transformers' notes are dropped for the thread that loads a model, not by changing its verbosity (another
    thread's records still pass); ``verbose()`` turns bars on for its own thread only."""
    import threading

    from transformers.utils import logging as hf_logging

    from nwb_it.core.progress import bars_shown, verbose
    from nwb_it.models.base import quiet_transformers

    probe = hf_logging.get_logger("transformers.models.nwb_it_probe")
    root = hf_logging.get_logger()
    keep = _Keep()
    root.addHandler(keep)
    before = hf_logging.get_verbosity()
    try:
        with quiet_transformers():
            assert hf_logging.get_verbosity() == before
            other = threading.Thread(target=lambda: probe.warning("from another thread"))
            other.start()
            other.join()
            probe.warning("from the loading thread")
        probe.warning("after loading")
    finally:
        root.removeHandler(keep)
    assert keep.messages == ["from another thread", "after loading"]
    seen: list[bool] = []
    with verbose():
        other = threading.Thread(target=lambda: seen.append(bars_shown()))
        other.start()
        other.join()
        assert bars_shown()
    assert seen == [False] and not bars_shown()


def test_records_naming_killed_workers_are_dropped_and_the_filter_goes_after():
    from nwb_it.core.logs import dropped_mentions

    logger = logging.getLogger("distributed.nwb_it_probe")
    keep = _Keep()
    logger.addHandler(keep)
    try:
        with dropped_mentions("distributed.nwb_it_probe", ["12345", "tcp://127.0.0.1:999"]):
            logger.warning("Worker process 12345 was killed by signal 9")
            logger.warning("Removing worker 'tcp://127.0.0.1:999'")
            logger.warning("another client's worker 777 died")
        logger.warning("Worker process 12345 restarted")
    finally:
        logger.removeHandler(keep)
    assert keep.messages == ["another client's worker 777 died", "Worker process 12345 restarted"]
    assert not logger.filters and logger.level == logging.NOTSET


def test_a_frame_over_the_pixel_limit_is_refused_without_touching_warning_filters(tmp_path, monkeypatch):
    """Frames are decoded by a thread pool: the pixel limit is checked from the header, not by turning PIL's
    warning into an error (``warnings`` filters are process-wide)."""
    import warnings

    import pytest
    from PIL import Image

    from nwb_it.core.errors import NwbItError
    from nwb_it.models.frames import load_frame

    path = tmp_path / "big.png"
    Image.new("RGB", (64, 64)).save(path)
    filters = list(warnings.filters)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 64 - 1)     # under PIL's own error (twice the limit)
    with pytest.raises(NwbItError, match="refused: Image size"):
        load_frame(path, 16)
    assert warnings.filters == filters
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 64)
    assert load_frame(path, 16).size == (16, 16)
