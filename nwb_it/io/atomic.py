"""The one way nwb_it writes a file: a temporary file beside the target, then a rename over it.

* An error or Ctrl-C leaves no partial file and an existing target exactly as it was.
* A new file gets the permissions the user's umask gives (``tempfile`` would leave 0600:
  colleagues on a shared disk could not read it); a replaced file keeps its mode.
* A target that is a symbolic link is resolved: the link stays, its target is replaced.
* An existing target is replaced only with ``overwrite`` (``--overwrite``), the same rule
  for every verb and every kind of output; a target its owner may not write (``chmod 444``
  to protect it) only with ``force`` (``--force``) as well.
* Temporary names carry the writer's process id, ``.<name>.nwb_it-<pid>-<random>.tmp<suffix>``:
  the next write into a folder removes those left by a process that no longer runs (a
  killed run), so they never pile up or trip ``nwb-it validate``. A long target name is cut in
  the temporary name, which stays under the file system's name limit.
* :func:`locked` serialises read -> write -> rename of one file across processes.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import NwbItError

TEMP_PATTERN = re.compile(r"^\.(?P<stem>.+)\.nwb_it-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp(?P<suffix>.*)$")
LOCK_TIMEOUT_S = 600.0


def refuse_existing(path: Path, overwrite: bool, force: bool = False) -> None:
    """The overwrite rule, for every output of every verb.

    An existing file is replaced only with ``overwrite``; one its owner may not write
    (e.g. made read-only with ``chmod 444`` to protect it) only with ``force`` as well.
    """
    path = Path(path)
    if not path.exists():
        return
    if not overwrite:
        raise NwbItError("output exists; pass `overwrite=True` to replace it", path)
    mode = path.stat().st_mode
    if not force and not mode & stat.S_IWUSR:
        raise NwbItError(f"is read-only for its owner (mode {mode & 0o777:04o}), so nwb_it does not replace it; "
                         "pass `force=True` to replace it anyway", path)


def refuse_same_file(output: str | Path, *inputs: str | Path | None) -> None:
    """An output that is one of the inputs would destroy it: refuse (links resolved)."""
    out = Path(output).resolve()
    for item in inputs:
        if item is not None and Path(item).resolve() == out:
            raise NwbItError("is both an input and an output; choose another output path", output)


def _umask() -> int:
    """This process's umask, read without setting it (``os.umask`` can only be read by setting it: a file another
    thread created meanwhile would get the temporary mask)."""
    try:
        with open("/proc/self/status") as status:              # Linux 4.7 and later
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with tempfile.TemporaryDirectory() as folder:               # elsewhere: what the kernel gives a new file
        probe = os.path.join(folder, "probe")
        os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o777))
        return 0o777 & ~os.stat(probe).st_mode


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _fit(stem: str, room: int) -> str:
    """``stem`` cut (at a character boundary) to at most ``room`` bytes of UTF-8."""
    data = stem.encode()
    return stem if len(data) <= room else data[:max(room, 1)].decode(errors="ignore") or "x"


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
def atomic_output(path: str | Path, overwrite: bool = False, force: bool = False) -> Iterator[Path]:
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
    refuse_existing(path, overwrite, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    # the temporary name keeps the suffix (pynwb warns about files not ending in .nwb) and stays under
    # the file system's name limit: a long stem is cut, the rest of the name is ~30 bytes
    prefix_end, suffix = f".nwb_it-{os.getpid()}-", f".tmp{path.suffix}"
    room = _name_max(path.parent) - len(prefix_end) - len(suffix.encode()) - 1 - 8 - 2
    fd, tmp_name = tempfile.mkstemp(prefix=f".{_fit(path.stem, room)}{prefix_end}", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        refuse_existing(path, overwrite, force)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the system or the file
    system cannot, nothing changed then."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


@contextlib.contextmanager
def atomic_folder(path: str | Path, overwrite: bool = False, force: bool = False) -> Iterator[Path]:
    """Like :func:`atomic_output`, for a folder of files (e.g. a saved model): built beside, then renamed.

    An existing folder is replaced by one atomic exchange (:func:`exchange`), so a reader never finds the
    target missing; where the system has no such exchange, by two renames (a moment without it).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NwbItError("exists and is not a folder", path)
    refuse_existing(path, overwrite, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{_fit(path.name, 200)}.nwb_it-{os.getpid()}-", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        for item in tmp.rglob("*"):              # what libraries wrote 0600 (safetensors) gets the umask's mode
            os.chmod(item, (0o777 if item.is_dir() else 0o666) & ~_umask())
        if path.exists():
            if exchange(tmp, path):              # one atomic swap: the target never stops existing
                shutil.rmtree(tmp, ignore_errors=True)          # (it holds the old folder now)
            else:                                # no renameat2 here: two renames, a moment without the target
                old = path.with_name(tmp.name + ".old")
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def lock_path(target: Path) -> Path:
    """``.<name>.lock`` beside the file (a long name is cut and given a hash, within the name limit)."""
    name = f".{target.name}.lock"
    if len(name.encode()) <= _name_max(target.parent):
        return target.parent / name
    digest = hashlib.sha256(target.name.encode()).hexdigest()[:16]
    return target.parent / f".{_fit(target.name, _name_max(target.parent) - 30)}-{digest}.lock"


def _open_lock(lock: Path, path: Path) -> int:
    """The lock file's descriptor: a regular file, never followed through a link, never a FIFO that blocks."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(lock, flags, 0o666 & ~_umask())
    except OSError as exc:
        what = "a symbolic link" if exc.errno == errno.ELOOP else f"not usable ({exc.strerror})"
        raise NwbItError(f"its lock file {lock.name} is {what}; remove it (nwb_it makes a regular file)",
                         path) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NwbItError(f"its lock file {lock.name} is not a regular file; remove it (nwb_it makes a regular "
                         "file)", path)
    return fd


def check_updatable(path: str | Path, force: bool = False) -> None:
    """Before computing results for a file updated in place: it may be replaced (its owner did not make it
    read-only, or ``force``) and its lock is usable."""
    path = Path(path)
    refuse_existing(path, overwrite=True, force=force)
    target = path.resolve() if path.is_symlink() else path
    if target.parent.is_dir():
        os.close(_open_lock(lock_path(target), path))


@contextlib.contextmanager
def locked(path: str | Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (an advisory lock on ``.<name>.lock`` beside it) while the block runs.

    A second nwb_it process updating the same file waits for the first to finish, so
    neither loses the other's table; after ``timeout`` seconds it gives up with a clear error.
    The lock is a regular file opened without following links (a link, FIFO or folder
    in its place is an error line).
    """

    path = Path(path)
    target = path.resolve() if path.is_symlink() else path
    fd = _open_lock(lock_path(target), path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise NwbItError(f"another nwb_it process has been updating this file for over {timeout:g} s; "
                                     "try again when it has finished", path) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
