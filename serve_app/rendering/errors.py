"""The render layer's declared failures: a stable code each (the edge's table gives the HTTP
status, ``serve_app.errors.STATUS_BY_CODE``)."""

from __future__ import annotations

from serve_app.errors import Failure


class RenderFailure(Failure):
    """A render refused or failed for a declared reason, with its stable code."""
