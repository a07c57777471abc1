"""HTTP helpers that are not operations (health)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from events.codec import encode


def reply(obj: Any, status: int = 200) -> Response:
    return Response(encode(obj), status_code=status, media_type="application/json")
