"""The AsyncAPI 3 document of everything Lantern publishes or answers on NATS.

Generated from the subject catalogue (``events.subjects``) and the msgspec
types (``events.schema.CATALOGUE``), not from faststream's generator: that one
crashes on msgspec Struct handler arguments (ag2ai/faststream#2101), and it would
describe handlers rather than the contract.  Every channel address is built by
calling the catalogue's own methods with ``{parameter}`` placeholders, so the
document follows the subject layout wherever it changes.

The document is written from Lantern's side: ``send`` is what Lantern publishes
(events, audit entries, inbox messages, anchors, dead letters) and ``receive``
what it answers (request-reply operations, each with its reply).  It is the same
for every service; each serves it at ``GET /asyncapi.json`` and
``lantern docs asyncapi`` prints it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from events import headers as h
from events.schema import CATALOGUE
from events.subjects import (
    ANY,
    AUDIT_MESSAGE,
    CHECKPOINT_MESSAGE,
    CONSUMERS,
    ERROR_MESSAGE,
    EVENTS,
    INBOX,
    SERVICES,
    STORES,
    Subjects,
    commands,
)

VERSION = "1"
#: The request and reply headers every operation understands (HTTP uses the same names).
AUTHORIZATION = "Authorization"
PURPOSE = "X-Lantern-Purpose"
CORRELATION = "X-Correlation-Id"
TRACEPARENT = "traceparent"
STATUS = "Lantern-Status"

_PARAMETERS = {
    "prefix": {
        "description": "Deployment prefix (LANTERN_PREFIX); streams use it upper-cased.",
        "default": "lantern",
        "examples": ["lantern"],
    },
    "partition": {
        "description": "The partition token `p<N>`: an incident's events are all in "
        "`p<partition_of(incident_id)>` (the first four bytes of BLAKE2b over the id's "
        "lower-case text, big-endian, modulo the deployment's partition count "
        "LANTERN_PARTITIONS, default 4); events about no incident are in `p0`. "
        "Subscribe with `*` for every partition.",
        "examples": ["p0", "p3"],
    },
    "person": {
        "description": "The person's id as one subject token: `.`, `*`, `>`, `%` and "
        "white space are percent-encoded (`j.smith` is `j%2Esmith`).",
        "examples": ["rsp-ada"],
    },
    "store": {
        "description": "The store whose chain head is anchored.",
        "enum": list(STORES),
    },
    "consumer": {
        "description": "The durable consumer that parked the message.",
        "examples": ["dispatch-from-intake"],
    },
}


#: A prefix that is a valid token, replaced by the ``{prefix}`` parameter in addresses.
_SENTINEL = "xlanternprefixx"


def _placeholders() -> Subjects:
    return Subjects(_SENTINEL)


def _address(subject: str) -> str:
    """A catalogue subject as a channel address: ``{prefix}``, and ``{partition}`` for ``*``."""
    tokens = subject.replace(_SENTINEL, "{prefix}").split(".")
    if len(tokens) >= 4 and tokens[1] in ("evt", "audit") and tokens[3] == ANY:
        tokens[3] = "{partition}"
    return ".".join(tokens)


def _stream(name: str) -> str:
    return name.replace(_SENTINEL.upper(), "{PREFIX}")


def _params(address: str) -> dict[str, Any]:
    return {
        name: {"$ref": f"#/components/parameters/{name}"}
        for name in _PARAMETERS
        if "{" + name + "}" in address
    }


def _message_name(tag: str) -> str:
    return tag.removesuffix("[]")


def _payload_ref(tag: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{CATALOGUE[_message_name(tag)].__name__}"}
    return {"type": "array", "items": ref} if tag.endswith("[]") else ref


class _Builder:
    def __init__(self) -> None:
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.used: set[str] = set()

    def message(self, tag: str, *, headers: str, summary: str = "") -> dict[str, str]:
        """A component message for ``tag`` (``x[]``: an array of x), and a reference to it."""
        key = tag.replace("[]", ".list")
        if key not in self.messages:
            kind = CATALOGUE[_message_name(tag)]
            doc = (kind.__doc__ or "").strip()
            self.messages[key] = {
                "name": key,
                "title": tag,
                "summary": summary or (doc.splitlines()[0] if doc else tag),
                "contentType": "application/json",
                "headers": {"$ref": f"#/components/schemas/{headers}"},
                "payload": _payload_ref(tag),
            }
            self.used.add(_message_name(tag))
        return {"$ref": f"#/components/messages/{key}"}

    def channel(
        self, cid: str, address: str | None, messages: dict[str, Any], description: str
    ) -> None:
        channel: dict[str, Any] = {
            "address": address,
            "description": description,
            "messages": messages,
        }
        if address:
            params = _params(address)
            if params:
                channel["parameters"] = params
        self.channels[cid] = channel

    def operation(self, oid: str, action: str, cid: str, summary: str, **more: Any) -> None:
        refs = [{"$ref": f"#/channels/{cid}/messages/{m}"} for m in self.channels[cid]["messages"]]
        self.operations[oid] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{cid}"},
            "summary": summary,
            "messages": refs,
            **more,
        }


def _events(b: _Builder, s: Subjects) -> None:
    for service, events in EVENTS.items():
        for name, tag in events.items():
            cid = f"{service}.{name}"
            msg = b.message(tag, headers="EventHeaders")
            b.channel(
                cid,
                _address(s.event(service, name)),
                {name: msg},
                f"{service} integration event `{tag}`, captured by the stream "
                f"`{_stream(s.stream(service))}`.",
            )
            b.operation(f"publish.{cid}", "send", cid, f"{service} publishes {name}")


def _feeds(b: _Builder, s: Subjects) -> None:
    for service in SERVICES:
        cid = f"{service}.audit"
        b.channel(
            cid,
            _address(s.audit(service)),
            {"audit": b.message(AUDIT_MESSAGE, headers="EventHeaders")},
            f"{service}'s audit entries (every command, read of student data and refusal), "
            f"in the stream `{_stream(s.stream(service))}`.",
        )
        b.operation(f"publish.{cid}", "send", cid, f"{service} publishes its audit entries")
    for service, tag in INBOX.items():
        cid = f"{service}.inbox"
        b.channel(
            cid,
            _address(s.inbox(service, "{person}")),
            {"inbox": b.message(tag, headers="EventHeaders")},
            f"What {service} sends one person (no student-identifying data), in the stream "
            f"`{_stream(s.stream(service))}`. Subscribe to "
            f"`{_address(s.inbox_all('{person}'))}` for everything addressed to one person.",
        )
        b.operation(f"publish.{cid}", "send", cid, f"{service} notifies a person")
    cid = "integrity.checkpoint"
    b.channel(
        cid,
        _address(s.checkpoint("{store}")),
        {"checkpoint": b.message(CHECKPOINT_MESSAGE, headers="EventHeaders")},
        f"Signed hash-chain heads of each store, in the stream `{_stream(s.integrity_stream)}` "
        "(deny delete, deny purge); `lantern audit verify` reads the newest per store.",
    )
    b.operation(f"publish.{cid}", "send", cid, "each store's chainer anchors its chain head")
    b.messages["dead_letter"] = {
        "name": "dead_letter",
        "title": "a parked message",
        "summary": "The message as it was published (any event above), byte for byte",
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
        "payload": {"description": "The original payload, unchanged (possibly malformed)"},
    }
    for service in CONSUMERS:
        cid = f"{service}.dead_letters"
        b.channel(
            cid,
            _address(s.dlq(service, "{consumer}")),
            {"parked": {"$ref": "#/components/messages/dead_letter"}},
            f"Messages {service}'s consumers could not process, parked in "
            f"`{_stream(s.dlq_stream(service))}` byte for byte (the payload is the original "
            "message, not an error); the headers say why. Operators list, redrive or "
            "dismiss them with the dead-letter operations.",
        )
        b.operation(f"publish.{cid}", "send", cid, f"{service} parks a message it cannot process")


def _commands(b: _Builder, s: Subjects) -> None:
    error = b.message(ERROR_MESSAGE, headers="ReplyHeaders")
    for service in STORES:
        for name, command in commands(service).items():
            cid = f"{service}.cmd.{name}"
            request = b.message(command.request, headers="RequestHeaders")
            b.channel(
                cid,
                _address(s.command(service, name)),
                {"request": request},
                f"Request-reply (core NATS, not stored): `{command.request}`; the same "
                f"operation as HTTP `{name}` on the {service} service.",
            )
            reply_cid = f"{cid}.reply"
            b.channel(
                reply_cid,
                None,
                {"reply": b.message(command.reply, headers="ReplyHeaders"), "error": error},
                f"The requester's inbox (the NATS reply subject). `{STATUS}` "
                f"{'/'.join(map(str, command.statuses))} with `{command.reply}`; otherwise "
                f"the HTTP-equivalent error status with `{ERROR_MESSAGE}`.",
            )
            b.operation(
                f"{service}.{name}",
                "receive",
                cid,
                f"{service} answers {name}",
                reply={
                    "channel": {"$ref": f"#/channels/{reply_cid}"},
                    "messages": [
                        {"$ref": f"#/channels/{reply_cid}/messages/reply"},
                        {"$ref": f"#/channels/{reply_cid}/messages/error"},
                    ],
                },
            )


def _header_schemas() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "EventHeaders": {
            "type": "object",
            "description": "Headers of every published message (the relay sets them).",
            "properties": {
                h.MSG_ID: {**text, "description": "`<service>/<aggregate>/<version>`: dedup key"},
                h.SOURCE: {**text, "description": "The service whose store recorded it"},
                h.POSITION: {**text, "description": "Notification id in the source store"},
                h.SCHEMA: {**text, "description": "The payload's message tag"},
                h.INCIDENT_ID: {**text, "description": "The incident it concerns, if any"},
                h.CORRELATION_ID: {**text, "description": "The conversation it belongs to"},
                h.CAUSATION_ID: {**text, "description": "What caused it"},
                h.RECORDED_AT: {**text, "format": "date-time"},
                h.EPOCH: {**text, "description": "The source store's epoch (a position's scope)"},
                h.PARTITION: {**text, "description": "The partition number, as in the subject"},
                TRACEPARENT: {**text, "description": "W3C trace context, when one was given"},
            },
        },
        "DeadLetterHeaders": {
            "type": "object",
            "description": "The original message's headers, plus why it was parked.",
            "properties": {
                h.ERROR: {**text, "description": "Why it was parked"},
                h.FAILURE: {**text, "description": "Its failure class: poison, rejected, defect"},
                h.DELIVERIES: {**text, "description": "How often it was tried"},
                h.CONSUMER: {**text, "description": "The durable consumer that parked it"},
                h.ORIGINAL_SUBJECT: {**text, "description": "Where it was published"},
                h.ORIGINAL_STREAM: {**text, "description": "The stream it was read from"},
                h.ORIGINAL_SEQUENCE: {**text, "description": "Its sequence in that stream"},
            },
        },
        "RequestHeaders": {
            "type": "object",
            "description": "Headers of a request (the same names over HTTP).",
            "required": [AUTHORIZATION],
            "properties": {
                AUTHORIZATION: {**text, "description": "`Bearer <token>`, always required"},
                PURPOSE: {**text, "description": "The audited purpose of the access"},
                CORRELATION: {
                    **text,
                    "description": "Your correlation id (else one is made); carried on",
                },
                TRACEPARENT: {**text, "description": "W3C trace context; carried on"},
            },
        },
        "ReplyHeaders": {
            "type": "object",
            "description": "Headers of every reply.",
            "required": [STATUS],
            "properties": {
                STATUS: {
                    **text,
                    "pattern": "^[1-5][0-9][0-9]$",
                    "description": "The HTTP-equivalent status: 2xx with the reply, "
                    "400/401/403/404/409/422/500 with `reply.error.v1`",
                },
                CORRELATION: {**text, "description": "The request's correlation id"},
            },
        },
    }


def document() -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document, as a JSON-ready dict."""
    b = _Builder()
    s = _placeholders()
    _events(b, s)
    _feeds(b, s)
    _commands(b, s)
    kinds = [CATALOGUE[name] for name in sorted(b.used)]
    _, components = msgspec.json.schema_components(
        kinds, ref_template="#/components/schemas/{name}"
    )
    components.update(_header_schemas())
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Lantern",
            "version": VERSION,
            "description": (
                "Every NATS subject Lantern publishes or answers. Events, audit entries "
                "and inbox messages are JetStream messages in each service's stream; "
                "operations are core NATS request-reply with JSON bodies, a bearer token "
                f"in `{AUTHORIZATION}`, and the status in the `{STATUS}` reply header. "
                "Times are RFC 3339 (`2026-11-28T09:30:00Z`)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "`lantern up`'s embedded nats-server (`lantern info` says where)",
            }
        },
        "channels": b.channels,
        "operations": b.operations,
        "components": {
            "schemas": components,
            "messages": b.messages,
            "parameters": _PARAMETERS,
        },
    }
