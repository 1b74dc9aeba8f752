"""What every route needs: the opened data directory (a small pool of catalogue connections), the viewer
asking, and the base URL links are built from. Routes read only through ``lunarchive.search``."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from ..config import Archive, open_archive
from ..search import ANONYMOUS, Viewer

__all__ = ["ApiState", "Ctx", "CtxDep", "get_ctx"]


class ApiState:
    """The data directory the app serves, with at most ``connections`` catalogue connections (SQLite readers
    run side by side in WAL mode; a bounded pool bounds the memory their page caches take)."""

    def __init__(self, root: Path, *, default_body: str = "moon", title: str = "lunarchive",
                 connections: int = 4) -> None:
        self.root = root
        self.default_body = default_body
        self.title = title
        self._free: queue.LifoQueue[Archive] = queue.LifoQueue()
        self._opened: list[Archive] = []
        self._lock = threading.Lock()
        self._size = max(1, connections)
        with self.borrow():  # open (and migrate) once up front, so a bad data directory fails at start
            pass

    @contextmanager
    def borrow(self) -> Iterator[Archive]:
        """An opened archive for the duration of the block (waits when all connections are in use)."""
        try:
            archive = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = len(self._opened) < self._size
                if grow:
                    archive = open_archive(self.root, fsync=False)
                    self._opened.append(archive)
            if not grow:
                archive = self._free.get()
        try:
            yield archive
        finally:
            self._free.put(archive)

    def close(self) -> None:
        with self._lock:
            for archive in self._opened:
                archive.close()
            self._opened.clear()


@dataclass
class Ctx:
    """One request's view: the state, the viewer, the URL prefix for links and a borrowed archive."""

    state: ApiState
    viewer: Viewer
    base: str
    archive: Archive


def get_viewer(request: Request) -> Viewer:
    """Who is asking; anonymous until access rules arrive (they will read a token here)."""
    return ANONYMOUS


def get_ctx(request: Request) -> Iterator[Ctx]:
    """The request's context; its archive goes back to the pool when the route function returns."""
    state: ApiState = request.app.state.lunarchive
    with state.borrow() as archive:
        yield Ctx(state, get_viewer(request), str(request.base_url).rstrip("/"), archive)


CtxDep = Annotated[Ctx, Depends(get_ctx, scope="function")]
