"""Outside channels.  Payloads carry no student-identifying data: "open Lantern to view".

Delivery is at least once (a crash between sending and recording re-sends),
so each message carries a stable idempotency key receivers can de-duplicate on.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Page:
    page_id: str  # stable: "<service>/<aggregate>/<version>" of the paging event
    kind: str
    dispatch_id: str
    incident_id: str
    responder_id: str
    email: str
    school_id: str
    risk: str
    ack_deadline: str | None

    def payload(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dispatch_id": self.dispatch_id,
            "incident_id": self.incident_id,
            "responder_id": self.responder_id,
            "school_id": self.school_id,
            "risk": self.risk,
            "ack_deadline": self.ack_deadline,
            "message": "Open Lantern to view",
        }


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, page: Page) -> str:
        """Deliver; return a short detail, or raise on failure; "skip:" prefix = not applicable."""


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    timeout_s: float = 5.0
    name: str = "webhook"

    def send(self, page: Page) -> str:
        """POST the page; any non-2xx answer is a failure (retried by the notifier)."""
        response = httpx.post(
            self.url,
            json=page.payload(),
            headers={"Idempotency-Key": page.page_id},
            timeout=self.timeout_s,
        )
        if not response.is_success:
            raise RuntimeError(f"HTTP {response.status_code}")
        return f"HTTP {response.status_code}"


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int
    sender: str
    timeout_s: float = 10.0
    name: str = "email"

    def send(self, page: Page) -> str:
        if not page.email:
            return "skip: responder has no e-mail address"
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = page.email
        message["Subject"] = f"Lantern {page.kind}: {page.risk} risk at {page.school_id}"
        message["Message-ID"] = f"<{page.page_id.replace('/', '.')}@lantern>"
        deadline = f"Please acknowledge by {page.ack_deadline}.\n" if page.ack_deadline else ""
        message.set_content(
            f"A Lantern {page.kind} for you (dispatch {page.dispatch_id}).\n{deadline}"
            "Open Lantern to view. No student details are sent by e-mail.\n"
        )
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            smtp.send_message(message)
        return "accepted by SMTP server"
