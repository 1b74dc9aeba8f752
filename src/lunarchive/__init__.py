"""lunarchive: a data center for lunar and deep-space archive data."""

from __future__ import annotations

__version__ = "0.1.0"
