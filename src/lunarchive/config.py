"""Where things live: one data directory holding the catalogue and the blob store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .catalog.base import Catalog
from .catalog.sqlite import SqliteCatalog
from .errors import PathNotFound, StoreError, UserError
from .store.base import Store
from .store.local import LocalStore

__all__ = ["DEFAULT_DATA_DIR", "Archive", "open_archive", "resolve_data_dir"]

DEFAULT_DATA_DIR = "./lunarchive-data"
CATALOG_FILE = "catalog.sqlite"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """``--data-dir`` if given, else ``$LUNARCHIVE_DATA``, else ``./lunarchive-data``."""
    if data_dir is not None and not str(data_dir).strip():
        raise UserError("--data-dir is empty: give a directory (or leave it out for $LUNARCHIVE_DATA or "
                        f"{DEFAULT_DATA_DIR})")
    chosen = data_dir or os.environ.get("LUNARCHIVE_DATA") or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


@dataclass
class Archive:
    """An opened data directory: its catalogue and its blob store."""

    root: Path
    catalog: Catalog
    store: Store

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_archive(data_dir: str | Path | None = None, *, fsync: bool = True, create: bool = True) -> Archive:
    """Open (creating if needed) the data directory's catalogue and blob store.

    ``create=False`` (commands that only read): a directory without a catalogue is a PathNotFound, not a new
    empty archive made wherever a mistyped ``--data-dir`` points.
    """
    root = resolve_data_dir(data_dir)
    if not create and not (root / CATALOG_FILE).is_file():
        raise PathNotFound(f"no catalogue in {root}: ingest into it first, or give --data-dir or LUNARCHIVE_DATA")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create data directory {root}: {exc.strerror}") from exc
    return Archive(root, SqliteCatalog(root / CATALOG_FILE, read_only_ok=not create),
                   LocalStore(root / "blobs", fsync=fsync))
