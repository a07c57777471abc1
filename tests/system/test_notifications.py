"""Pages reach outside channels: a webhook and e-mail through a real local SMTP server.

Outcomes are events: a `dispatch.notification_delivery.v1` per page and channel.
Payloads carry no student-identifying data: "open Lantern to view".
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import nats
import pytest
from aiosmtpd.controller import Controller

from events.codec import decode
from events.dispatch import NotificationDeliveryV1
from events.subjects import DISPATCH, Subjects
from lantern.natsserver import free_port
from tests.harness import Harness, eventually
from tests.system.dispatch_fixtures import seed_roster, short_policy

pytestmark = pytest.mark.system


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[list[tuple[dict[str, str], dict[str, Any]]], int]]:
    received: list[tuple[dict[str, str], dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield received, server.server_address[1]
    server.shutdown()


@pytest.fixture
async def harness(
    subjects: Subjects,
    nats_url: str,
    store: dict[str, str],
    clean_streams: None,
    tmp_path: Path,
    smtp: tuple[Inbox, int],
    webhook: tuple[list[Any], int],
) -> AsyncIterator[Harness]:
    channels = f"""
[dispatch.notifications.webhook]
url = "http://127.0.0.1:{webhook[1]}/pages"

[dispatch.notifications.smtp]
host = "127.0.0.1"
port = {smtp[1]}
sender = "lantern@district.example"
"""
    harness = Harness(
        subjects, nats_url, store, config_file=short_policy(tmp_path, 60, extra=channels)
    )
    await harness.start("intake")
    await harness.start("dispatch")
    await seed_roster(harness)
    yield harness
    await harness.stop_all()


async def test_a_page_is_delivered_by_webhook_and_e_mail_and_the_outcomes_are_events(
    harness: Harness,
    smtp: tuple[Inbox, int],
    webhook: tuple[list[Any], int],
    nats_url: str,
    subjects: Subjects,
) -> None:
    inbox, _ = smtp
    hooks, _ = webhook
    _, body = await harness.report(
        student_ref="stu-77", note="synthetic sensitive note", risk="high", categories=["other"]
    )

    await eventually(lambda: _true(bool(hooks) and bool(inbox.messages)), timeout=10)

    headers, payload = hooks[0]
    assert payload["kind"] == "page"
    assert payload["responder_id"] == "co-a"
    assert payload["incident_id"] == body["incident_id"]
    assert payload["message"] == "Open Lantern to view"
    assert headers["Idempotency-Key"].startswith("dispatch/")
    assert payload["ack_deadline"].endswith("Z")  # RFC 3339 in UTC, as every time Lantern writes
    datetime.fromisoformat(payload["ack_deadline"])
    mail = inbox.messages[0]
    assert mail.rcpt_tos == ["co-a@district.example"]
    for text in (json.dumps(payload).encode(), mail.content):
        assert b"stu-77" not in text
        assert b"synthetic sensitive note" not in text

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()

        async def outcomes() -> list[NotificationDeliveryV1] | None:
            info = await js.stream_info(subjects.stream(DISPATCH))
            found = []
            for seq in range(1, info.state.last_seq + 1):
                msg = await js.get_msg(subjects.stream(DISPATCH), seq=seq)
                if subjects.family(msg.subject or "") == subjects.notification_delivery:
                    found.append(decode(msg.data or b"", NotificationDeliveryV1))
            return found if len(found) >= 2 else None

        delivered = await eventually(outcomes, timeout=10)
    finally:
        await nc.close()
    assert {(d.channel, d.outcome) for d in delivered} == {
        ("webhook", "delivered"),
        ("email", "delivered"),
    }


async def _true(value: bool) -> bool:
    return value
