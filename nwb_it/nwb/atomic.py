"""The one way nwb_it writes a file: a temporary file beside the target, then a rename over it.

* An error or Ctrl-C leaves no partial file and an existing target exactly as it was.
* A new file gets the permissions the user's umask gives (``tempfile`` would leave 0600:
  colleagues on a shared disk could not read it); a replaced file keeps its mode.
* A target that is a symbolic link is resolved: the link stays, its target is replaced.
* An existing target is replaced only with ``overwrite`` (``--overwrite``), the same rule
  for every verb and every kind of output.
* Temporary names carry the writer's process id, ``.<name>.nwb_it-<pid>-<random>.tmp<suffix>``:
  the next write into a folder removes those left by a process that no longer runs (a
  killed run), so they never pile up or trip ``nwb-it validate``.
* :func:`locked` serialises read -> write -> rename of one file across processes.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import NwbItError

TEMP_PATTERN = re.compile(r"^\.(?P<stem>.+)\.nwb_it-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp(?P<suffix>.*)$")
LOCK_TIMEOUT_S = 600.0


def refuse_existing(path: Path, overwrite: bool) -> None:
    """The overwrite rule, for every output of every verb."""
    if Path(path).exists() and not overwrite:
        raise NwbItError("output exists; pass `overwrite=True` to replace it", path)


def refuse_same_file(output: str | Path, *inputs: str | Path | None) -> None:
    """An output that is one of the inputs would destroy it: refuse (links resolved)."""
    out = Path(output).resolve()
    for item in inputs:
        if item is not None and Path(item).resolve() == out:
            raise NwbItError("is both an input and an output; choose another output path", output)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporary files of nwb_it writers that no longer run; return what was removed."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            match = TEMP_PATTERN.match(entry.name)
            if match and int(match["pid"]) != os.getpid() and not _process_alive(int(match["pid"])):
                with contextlib.suppress(OSError):
                    entry.unlink()
                    removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success rename it onto ``path`` (see module doc).

    Examples
    --------
    >>> import tempfile, os
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    ('done', True)
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()                    # replace the link's target, keep the link
    refuse_existing(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    # the temporary name keeps the suffix: pynwb warns about files not ending in .nwb
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.nwb_it-{os.getpid()}-", suffix=f".tmp{path.suffix}",
                                    dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        refuse_existing(path, overwrite)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def locked(path: str | Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (an advisory lock on ``.<name>.lock`` beside it) while the block runs.

    A second nwb_it process updating the same file waits for the first to finish, so
    neither loses the other's table; after ``timeout`` seconds it gives up with a clear error.
    """
    import time

    path = Path(path)
    target = path.resolve() if path.is_symlink() else path
    lock_path = target.parent / f".{target.name}.lock"
    with open(lock_path, "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise NwbItError(f"another nwb_it process has been updating this file for over {timeout:g} s; "
                                     "try again when it has finished", path) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
