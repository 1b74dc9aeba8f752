"""The HTTP API: STAC API 1.0, PDS Search API routes and verifiable downloads (``create_app``)."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
