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

TRACE_KEYS = ("service", "incident_id", "correlation_id", "causation_id")


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
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
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
