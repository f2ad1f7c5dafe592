"""Output folders of jobs, training runs and benchmarks: created with a clear error, written by one process at a time.

Every command that writes a resumable folder holds an exclusive `flock` on a lock file inside it while it runs, so
a second process pointed at the same folder is refused at once instead of writing everything twice. The kernel
drops the lock when the process ends, however it ends, so a crash never leaves a folder locked.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from faithlab.errors import FaithlabError

LOCK_NAME = ".faithlab.lock"


def prepare_out_dir(path: str | os.PathLike) -> Path:
    """Create the output folder `path` (and its parents) if needed and return it.

    Raises:
        FaithlabError: `path` is an existing file, lies under a file, or cannot be created or written.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise FaithlabError(f"output folder '{out}' is an existing file; choose a folder path for the output")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise FaithlabError(
            f"cannot create output folder '{out}': '{_existing_file_above(out)}' is a file; choose another path"
        ) from exc
    except OSError as exc:
        raise FaithlabError(f"cannot create output folder '{out}': {exc.strerror or exc}") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise FaithlabError(f"cannot write to output folder '{out}': permission denied; choose another folder")
    return out


@contextlib.contextmanager
def locked_out_dir(path: str | os.PathLike) -> Iterator[Path]:
    """`prepare_out_dir`, then hold the folder's lock until the block ends.

    Raises:
        FaithlabError: as `prepare_out_dir`, or another process holds the lock (the message gives its pid).
    """
    out = prepare_out_dir(path)
    lock_path = out / LOCK_NAME
    try:
        handle = lock_path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise FaithlabError(f"cannot write to output folder '{out}': {exc.strerror or exc}") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise FaithlabError(f"cannot lock output folder '{out}': {exc.strerror or exc}") from exc
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise FaithlabError(
                f"'{out}' is being written by another faithlab process (pid {holder}); "
                "wait for it to finish or choose another output folder (--out)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield out
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def clear_out_dir(path: str | os.PathLike) -> None:
    """Delete everything in a locked output folder except its lock file (a fresh start that keeps the lock)."""
    for child in Path(path).iterdir():
        if child.name == LOCK_NAME:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _existing_file_above(path: Path) -> Path:
    """The nearest existing ancestor of `path` that is a file (the reason it cannot be created)."""
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return path
