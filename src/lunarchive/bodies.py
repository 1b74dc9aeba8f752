"""Target body names: one normal form so that MOON, Moon and moon are the same body."""

from __future__ import annotations

import re

__all__ = ["normalize_target"]

_NUMBERED = re.compile(r"^\(\d+\)\s*")
_SPACES = re.compile(r"\s+")


def normalize_target(name: str) -> str:
    """Upper-case, trimmed, with a minor-planet number prefix dropped: ``(134340) Pluto`` → ``PLUTO``."""
    s = _SPACES.sub(" ", name.strip())
    s = _NUMBERED.sub("", s)
    return s.upper()
