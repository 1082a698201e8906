"""Where fairsynth's outputs go: atomic files, write-through streams, one writer at a time.

Every file fairsynth writes (samples, model files, checkpoints, reports, pictures) goes through
:func:`open_output` or :func:`atomic_output`:

- a **regular file** (or a new name) is written to a temporary file beside it,
  ``.<name>.fairsynth.tmp``, and renamed onto it only on success, so a failure, Ctrl-C or
  SIGTERM leaves no partial output and an existing file stays as it was. A new file gets the
  mode the umask allows; a replaced file keeps its mode (and, where permitted, its owner);
- a **symbolic link** is followed: the file it names is written, the link stays a link;
- a **character device** (``/dev/null``), a **FIFO** and ``-`` (standard output) are written
  through, never replaced by a regular file;
- anything else (a directory, a block device, a socket) is refused with a :class:`DataError`.

The temporary file doubles as a lock (``flock``) held while writing, so two processes writing
the same output never mix their rows: the second one fails at once with a clear error. A
temporary file left by a process killed with SIGKILL holds no lock; the next write to the same
output removes it and warns.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from fairsynth.exceptions import DataError, LeftoverWarning

try:  # POSIX; elsewhere the temporary file is still used, without the lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "STDOUT",
    "LeftoverWarning",
    "atomic_output",
    "check_output_path",
    "free_space",
    "is_regular_output",
    "open_output",
    "temporary_path",
]

#: The output name that means standard output.
STDOUT = "-"


def temporary_path(out: Path) -> Path:
    """The temporary file (and lock) of the regular output file ``out``."""
    return out.with_name(f".{out.name}.fairsynth.tmp")


def _kind(path: Path) -> str:
    """'stdout', 'missing', 'file', 'stream' (character device, FIFO) or what else it is."""
    if str(path) == STDOUT:
        return "stdout"
    try:
        mode = path.stat().st_mode  # follows symbolic links
    except (FileNotFoundError, NotADirectoryError):  # the folder checks say what is wrong
        return "missing"
    except OSError as exc:
        raise DataError(f"Cannot use output '{path}': {exc.strerror}.") from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a block device" if stat.S_ISBLK(mode) else "a socket or special file"


def _target(path: str | os.PathLike[str]) -> Path:
    """``path`` with symbolic links followed (the file they name is the one written)."""
    out = Path(path)
    if str(out) == STDOUT or not out.is_symlink():
        return out
    return Path(os.path.realpath(out))


def is_regular_output(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is (or will be) a regular file, as opposed to stdout, a device or a FIFO."""
    return _kind(_target(path)) in ("file", "missing")


def check_output_path(path: str | os.PathLike[str], *, inputs: tuple[Path, ...] = ()) -> Path:
    """Check that ``path`` can be written without touching an input; return it.

    Raises
    ------
    DataError
        If ``path`` is a directory, a block device or a socket; if its folder does not exist or
        is not writable; or if it is one of ``inputs`` (fairsynth never overwrites its own
        input).
    """
    out = Path(path)
    target = _target(out)
    kind = _kind(target)
    if kind == "a directory":
        raise DataError(f"Output path '{out}' is a directory; give a file name.")
    if kind not in ("stdout", "missing", "file", "stream"):
        raise DataError(
            f"Output path '{out}' is {kind}; fairsynth writes regular files, character devices "
            f"(/dev/null), FIFOs or '{STDOUT}' (standard output)."
        )
    if kind in ("missing", "file"):
        folder = target.parent if str(target.parent) else Path(".")
        if folder.exists() and not folder.is_dir():
            raise DataError(f"'{folder}' in output path '{out}' is a file, not a folder.")
        if not folder.is_dir():
            raise DataError(f"Folder '{folder}' of output '{out}' does not exist.")
        if not os.access(folder, os.W_OK):
            raise DataError(f"Folder '{folder}' of output '{out}' is not writable.")
    for source in inputs:
        if kind != "stdout" and target.exists() and source.exists():
            if target.resolve() == source.resolve():
                raise DataError(f"Output '{out}' is also an input; choose another file name.")
    return out


def free_space(path: str | os.PathLike[str]) -> int | None:
    """Bytes free in the folder of the regular output ``path`` (None when unknown)."""
    target = _target(path)
    try:
        return int(shutil.disk_usage(target.parent if str(target.parent) else ".").free)
    except OSError:
        return None


def _umask_mode() -> int:
    """The mode a new file gets under the process's umask (0o666 & ~umask)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)  # no other way to read it; put it straight back
    os.umask(umask)
    return 0o666 & ~umask


def _lock_temporary(out: Path) -> tuple[int, Path]:
    """Create (or take over a stale) temporary file for ``out`` and lock it; return fd, path."""
    tmp = temporary_path(out)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):  # retried only when another process renames or removes it meanwhile
        try:
            fd = os.open(tmp, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DataError(f"'{tmp}' is a symbolic link, not fairsynth's file.") from None
            raise DataError(f"Cannot write to folder '{out.parent}': {exc.strerror}.") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DataError(
                f"Another process is writing '{out}' (it holds '{tmp}'); wait for it to finish "
                "or choose another output."
            ) from None
        mine = os.fstat(fd)
        try:
            named = os.stat(tmp, follow_symlinks=False)
        except FileNotFoundError:
            named = None
        if named is None or (named.st_ino, named.st_dev) != (mine.st_ino, mine.st_dev):
            os.close(fd)  # renamed or removed by the writer that just finished: start over
            continue
        if not stat.S_ISREG(mine.st_mode):
            os.close(fd)
            raise DataError(f"'{tmp}' is not a regular file; remove it or choose another output.")
        if mine.st_size:
            os.ftruncate(fd, 0)
            warnings.warn(
                f"Removed '{tmp}' ({mine.st_size:,} bytes), a partial output left by a process "
                "that was killed while writing.",
                LeftoverWarning,
                stacklevel=4,
            )
        return fd, tmp
    raise DataError(f"Cannot take '{tmp}': other processes keep replacing it.")


def _settle_mode(fd: int, out: Path) -> None:
    """Give the temporary file the replaced file's mode and owner, or the umask's mode."""
    try:
        old = os.stat(out)
    except OSError:
        os.fchmod(fd, _umask_mode())
        return
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):  # only root may give a file away
            os.fchown(fd, old.st_uid, old.st_gid)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield the path to write ``path``'s contents to; see the module notes.

    For a regular file it is a locked temporary file beside it, renamed onto ``path`` only on
    success. A failure (or Ctrl-C) inside the block removes the temporary file, so no
    half-written output is ever left behind and an existing file at ``path`` is kept as it
    was. For a character device or a FIFO it is the device itself, for ``-`` ``/dev/stdout``.
    An operating-system error (no permission, disk full, ...) becomes a :class:`DataError`.
    """
    out = check_output_path(path)
    target = _target(out)
    if _kind(target) == "stdout":
        target = Path("/dev/stdout")
    if _kind(target) == "stream":
        try:
            yield target
        except OSError as exc:
            raise DataError(f"Cannot write '{out}': {exc.strerror or exc}.") from None
        return
    fd, tmp = _lock_temporary(target)
    try:
        _settle_mode(fd, target)
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise DataError(f"Cannot write '{out}': {exc.strerror or exc}.") from None
    finally:
        _remove_if_mine(fd, tmp)
        os.close(fd)


def _remove_if_mine(fd: int, tmp: Path) -> None:
    """Remove ``tmp`` unless it was renamed into place (the name then is free or another's)."""
    mine = os.fstat(fd)
    with contextlib.suppress(FileNotFoundError):
        named = os.stat(tmp, follow_symlinks=False)
        if (named.st_ino, named.st_dev) == (mine.st_ino, mine.st_dev):
            tmp.unlink()


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Yield a binary file to write ``path``'s contents to, with :func:`atomic_output`'s rules.

    ``-`` yields standard output's binary buffer (flushed, not closed, at the end).
    """
    if str(path) == STDOUT:
        sys.stdout.flush()
        stream = sys.stdout.buffer
        try:
            yield stream
            stream.flush()
        except BrokenPipeError:  # the reader stopped reading (``| head``): not our error
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        yield handle
