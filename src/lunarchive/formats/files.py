"""Reading whole files: labels and other small files a reader parses in one piece."""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

__all__ = ["open_regular", "read_whole"]


def read_whole(path: str) -> bytes:
    """The bytes of the file at ``path``, read with one ``read`` of its size (a file that grows meanwhile is
    read to its end, one that shrinks to where it now ends): about a third of what ``open().read()`` costs
    for a label of a few kB, as no buffered reader is built."""
    fd, st = _open(path)  # a directory is let through: read says so
    try:
        size = st.st_size
        data = os.read(fd, size + 1)
        if len(data) == size:  # the whole file, and nothing after it
            return data
        chunks = [data]  # it grew, shrank, or gave a short read: read on to its end
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``open(path, "rb")`` for a regular file; OSError (EINVAL) for a pipe, socket or device, which is never
    left waiting for a writer. For readers that take a file's first bytes only (attached labels, headers)."""
    fd, st = _open(path)
    if not stat.S_ISREG(st.st_mode):  # a directory
        os.close(fd)
        raise OSError(errno.EINVAL, _NOT_REGULAR)
    return os.fdopen(fd, "rb")


_NOT_REGULAR = "not a regular file (a pipe, socket or device)"


def _open(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """A descriptor and the status of a regular file or directory, opened without waiting (a pipe named
    like a label would wait for a writer); OSError (EINVAL) for anything else."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            raise OSError(errno.EINVAL, _NOT_REGULAR)
    except BaseException:
        os.close(fd)
        raise
    return fd, st
