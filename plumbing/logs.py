"""structlog set-up: JSON when not on a TTY, readable on a TTY.

Every line carries ``service``, ``incident_id``, ``correlation_id`` and
``causation_id`` (None outside a message's scope), so one grep follows a report
across processes.  Values are bound per message with ``bound_contextvars``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from plumbing import redaction

TRACE_KEYS = ("service", "incident_id", "correlation_id", "causation_id")
#: Keys that may hold student-identifying data or free text: never written to a log.
SENSITIVE_KEYS = frozenset(
    {
        "name",
        "student_name",
        "date_of_birth",
        "dob",
        "grade",
        "student_details",
        "details",
        "note",
        "notes",
        "text",
        "warning_signs",
        "body",
        "payload",
        "token",
        "authorization",
        "password",
        "secret",
        "signing_key",
        "service_token",
        "cipher_key",
        "integrity_key",
        "client_secret",
        "private_key",
    }
)
REDACTED = "[redacted]"


def redact(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """A safety net: whatever a caller passes under a sensitive key is masked, nested too.

    The first defence is not logging such values at all (handlers log ids and
    outcomes); this catches the mistake that would otherwise leak PII into logs.
    """
    for key in list(event_dict):
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
        elif isinstance(event_dict[key], dict):
            event_dict[key] = _masked(event_dict[key])
    return event_dict


def redact_credentials(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Every string of the line, the message too, with URL passwords and tokens masked.

    Why every logger: a service's start line names its NATS URL, and a library
    (nats-py, uvicorn) may quote one in an error; stdlib records pass here too.
    """
    for key, value in event_dict.items():
        event_dict[key] = _without_credentials(value)
    return event_dict


def _without_credentials(value: object) -> object:
    if isinstance(value, str):
        return redaction.redact(value)
    if isinstance(value, dict):
        return {k: _without_credentials(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_without_credentials(v) for v in value)
    return value


def _masked(value: dict[str, object]) -> dict[str, object]:
    return {
        k: REDACTED
        if str(k).lower() in SENSITIVE_KEYS
        else (_masked(v) if isinstance(v, dict) else v)
        for k, v in value.items()
    }


def _ensure_trace_keys(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    for key in TRACE_KEYS:
        event_dict.setdefault(key, None)
    return event_dict


def configure(service: str, *, json: bool | None = None, level: str = "INFO") -> None:
    """Configure structlog and route stdlib logging (uvicorn, faststream, nats) through it."""
    as_json = (not sys.stderr.isatty()) if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _ensure_trace_keys,
        redact,
        redact_credentials,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *([structlog.processors.format_exc_info] if as_json else []),
                redact_credentials,  # last before rendering: tracebacks quote URLs too
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "nats", "faststream.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get(name: str = "lantern") -> Any:
    return structlog.get_logger(name)
