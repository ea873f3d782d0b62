"""Durable file writes: a power cut leaves the old file or the new one, never half of either."""

from __future__ import annotations

import os
from pathlib import Path


def read_user_file(path: Path, what: str, error: type[Exception]) -> bytes:
    """The bytes of a file the user named, or ``error`` with one line saying why not."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{what} {path}: is a directory") from None
    except OSError as exc:
        raise error(f"{what} {path}: cannot read: {exc.strerror}") from None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write to a temp file beside ``path``, fsync it, rename over ``path``, fsync the folder."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb", closefd=True) as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


# Below this, /healthz says "degraded": SQLite needs room for WAL frames and checkpoints, and a
# write that meets a full disk is refused (StoreError) rather than half done, but refused all the same.
MIN_FREE_BYTES = 64 << 20


def disk_status(path: Path, min_free_bytes: int = MIN_FREE_BYTES) -> dict:
    """Free space on the filesystem holding ``path``, and whether it is below ``min_free_bytes``."""
    import shutil

    usage = shutil.disk_usage(path)
    return {"free_bytes": usage.free, "total_bytes": usage.total, "low": usage.free < min_free_bytes}
