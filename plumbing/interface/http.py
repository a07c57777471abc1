"""HTTP helpers that are not operations (health, refusals made by the router)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from events.codec import encode
from events.common import ErrorV1

#: what the field of a refusal made before any operation runs points at
_FIELD_OF = {404: "path", 405: "method"}
_REASON = {404: "no such path", 405: "method not allowed here (see the Allow header)"}


def reply(obj: Any, status: int = 200) -> Response:
    return Response(encode(obj), status_code=status, media_type="application/json")


async def refused(_: Request, exc: Exception) -> Response:
    """A refusal of the router itself (no such path, a method it does not take) as ErrorV1.

    The reason is the status's own phrase, never the request's path or method.
    """
    assert isinstance(exc, HTTPException)
    return Response(
        encode(
            ErrorV1(
                error=_REASON.get(exc.status_code, "refused"), field=_FIELD_OF.get(exc.status_code)
            )
        ),
        status_code=exc.status_code,
        media_type="application/json",
        headers=exc.headers,
    )
