"""Errors of the face rig; both are ``ValueError`` so callers can map them to a 422."""

from __future__ import annotations


class FaceError(ValueError):
    """A request the rig cannot draw."""


class InvalidSize(FaceError):
    """Width or height outside the supported range."""


class InvalidOption(FaceError):
    """An unknown shading or quality."""
