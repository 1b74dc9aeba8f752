"""Reading whole files: labels and other small files a reader parses in one piece."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
from typing import BinaryIO, cast

__all__ = ["LABEL_LIMIT", "file_digest", "is_utf8", "open_regular", "printable", "printable_json", "read_whole",
           "real_dir", "real_path"]

_SURROGATE = re.compile("[\udc80-\udcff]")
"""A byte of a file name that is not UTF-8, as Python keeps it in a str (a surrogate escape)."""


def is_utf8(name: str) -> bool:
    """Whether a file name (as the OS gave it) is valid UTF-8, so it can be stored and printed as text."""
    return _SURROGATE.search(name) is None


def printable(text: str) -> str:
    """``text`` with each byte of a non-UTF-8 file name written as ``\\xNN`` (``x\\xff.lbl``): text that can be
    stored, printed and put in JSON, where the surrogate escape Python keeps such a byte in cannot."""
    return _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


def printable_json(text: str) -> str:
    """``printable`` for JSON text made with ``ensure_ascii=False`` (where such a byte can only be inside a
    string): the backslash is escaped, so the string reads ``x\\xff.lbl`` when parsed."""
    return _SURROGATE.sub(lambda m: f"\\\\x{ord(m.group()) - 0xDC00:02x}", text)


LABEL_LIMIT = 256 << 20
"""The largest file read whole as a label (the largest real PDS4 labels, tables of thousands of fields, are
a few MB): a bigger one is refused unread rather than held in memory, once per worker."""


def read_whole(path: str, limit: int = LABEL_LIMIT) -> bytes:
    """The bytes of the file at ``path``, read with one ``read`` of its size (a file that grows meanwhile is
    read to its end, one that shrinks to where it now ends): about a third of what ``open().read()`` costs
    for a label of a few kB, as no buffered reader is built. OSError (EFBIG) for a file of more than
    ``limit`` bytes."""
    fd, st = _open(path)  # a directory is let through: read says so
    try:
        size = st.st_size
        if size > limit:
            raise OSError(errno.EFBIG, f"{size} bytes, more than the {limit >> 20} MiB read as a label")
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


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    """The hex digest (``sha256``, ``md5``...) of a regular file (OSError for a pipe, socket or device)."""
    with open_regular(path) as fh:  # an io.BufferedReader (os.fdopen of a descriptor, "rb")
        reader = cast(io.BufferedReader, fh)
        return hashlib.file_digest(reader, lambda: hashlib.new(algorithm, usedforsecurity=False)).hexdigest()


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


_REAL_DIRS: dict[str, str] = {}
_REAL_DIRS_KEPT = 4096


def real_dir(directory: str) -> str:
    """``os.path.realpath`` of an absolute, normalised directory, built on its parent's (remembered): one
    ``lstat`` per directory instead of one per path component, which matters in deep trees holding a few
    labels per directory (archives laid out by date). Symbolic links are resolved by ``realpath`` itself.
    Walked up and then down in a loop, so a tree however deep costs no recursion."""
    known = _REAL_DIRS
    chain = []
    d = directory
    while d not in known:
        parent, name = os.path.split(d)
        if not name or name in (os.curdir, os.pardir) or parent == d:
            known[d] = os.path.realpath(d)
            break
        chain.append(d)
        d = parent
    for d in reversed(chain):
        parent, name = os.path.split(d)
        try:
            link = stat.S_ISLNK(os.lstat(d).st_mode)
        except OSError:
            link = True
        known[d] = os.path.realpath(d) if link else os.path.join(known[parent], name)
    real = known[directory]
    if len(known) > _REAL_DIRS_KEPT:
        known.clear()
    return real


def real_path(path: str) -> str:
    """``os.path.realpath`` of an absolute file path, through ``real_dir``'s remembered directories: the links
    the file itself is are followed (at most 40, as the kernel does), then its directory is resolved once."""
    for _ in range(40):
        try:
            if not stat.S_ISLNK(os.lstat(path).st_mode):
                break
            path = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
        except OSError:
            return os.path.realpath(path)
    else:
        return os.path.realpath(path)
    directory, name = os.path.split(path)
    return os.path.join(real_dir(directory), name)
