"""The exception hierarchy of lunarchive.

Every error the product raises on purpose is one of these, so the CLI and the API can turn it into one
clear line or one JSON error object, with an exit code / HTTP status that scripts can rely on::

    LunarchiveError
     ├── UserError                  bad input from the person or script calling us (exit 2)
     │    ├── InvalidQuery          a search filter that cannot be understood (bad date, bad bbox, ...)
     │    ├── InvalidIdentifier     a string that is not a LID / LIDVID
     │    └── PathNotFound          a path given on the command line does not exist (also FileNotFoundError)
     ├── NotFound                   an identifier that names nothing in the catalogue (exit 3; also LookupError)
     ├── Conflict                   the catalogue already holds something different under this name (exit 4)
     ├── FormatError                a file that cannot be read as the format it claims (becomes a Finding)
     │    └── UnsafeXML             XML with entity declarations / external references (XXE, billion laughs)
     ├── StoreError                 the blob store failed (disk full, permission, corrupt blob) (exit 5)
     ├── CatalogError               the catalogue database failed or is from a newer version (exit 5)
     └── IngestError                an ingest could not finish (a worker process died); nothing was stored (exit 5)
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "Conflict",
    "FormatError",
    "InvalidIdentifier",
    "InvalidQuery",
    "LunarchiveError",
    "NotFound",
    "PathNotFound",
    "StoreError",
    "StoreWriteError",
    "UnsafeXML",
    "UserError",
]


class LunarchiveError(Exception):
    """Base of every error lunarchive raises on purpose."""

    exit_code: int = 1
    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(LunarchiveError):
    """The caller asked for something that cannot be done as asked."""

    exit_code = 2
    code = "bad_request"


class InvalidQuery(UserError, ValueError):
    """A search filter (date, bbox, limit, token...) cannot be understood."""

    code = "invalid_query"


class InvalidIdentifier(UserError, ValueError):
    """A string that is not a valid LID or LIDVID."""

    code = "invalid_identifier"


class PathNotFound(UserError, FileNotFoundError):
    """A path given by the caller does not exist."""

    code = "path_not_found"


class NotFound(LunarchiveError, LookupError):
    """An identifier that names nothing in the catalogue."""

    exit_code = 3
    code = "not_found"


class Conflict(LunarchiveError):
    """The catalogue already holds something different under the same identity."""

    exit_code = 4
    code = "conflict"


class FormatError(LunarchiveError, ValueError):
    """A file that cannot be read as the format it claims to be."""

    code = "format_error"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line

    def about(self, path: str) -> str:
        """The message for a finding that names ``path`` already: without a leading ``path: ``."""
        return self.message.removeprefix(f"{path}: ")


class UnsafeXML(FormatError):
    """XML that declares entities or references external resources; refused unread."""

    code = "unsafe_xml"


class StoreError(LunarchiveError, OSError):
    """The blob store failed."""

    exit_code = 5
    code = "store_error"


class StoreWriteError(StoreError):
    """The blob store itself cannot be written (read-only, full): an ingest stops, its batch rolled back, rather
    than record the delivery's files as unreadable."""


class CatalogError(LunarchiveError):
    """The catalogue database failed or has a schema this version does not know."""

    exit_code = 5
    code = "catalog_error"


class IngestError(LunarchiveError):
    """An ingest stopped before its end (a worker process died, killed or out of memory); its batch was
    rolled back, so the catalogue is as it was."""

    exit_code = 5
    code = "ingest_error"
