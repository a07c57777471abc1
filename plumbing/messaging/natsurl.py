"""What a NATS URL says about the connection: its user's reply-inbox prefix.

Why per-user inboxes: nats-py replies arrive on ``_INBOX.<random>`` unless told
otherwise, and a user allowed to subscribe to ``_INBOX.>`` reads every other
user's replies (tokens, incident bodies).  Each Lantern user is allowed only
``_INBOX_<user>.>`` (``lantern/nats_permissions.py``), so every connection made
with a user and password must ask for replies there: ``connect(**options(url))``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

DEFAULT_PREFIX = "_INBOX"
_SUBJECT_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def user(url: str) -> str:
    """The user of a ``nats://user:password@host`` URL; "" for none or a bare token.

    A URL with only a user part is token authentication: that "user" is a secret
    and never becomes part of a subject.
    """
    first = url.split(",", 1)[0].strip()
    parts = urlsplit(first if "://" in first else f"nats://{first}")
    if not parts.username or parts.password is None:
        return ""
    return parts.username


def inbox_prefix(url: str) -> str:
    """``_INBOX_<user>`` for a URL with a user and password, else nats-py's default."""
    name = user(url)
    if not name or not _SUBJECT_TOKEN.fullmatch(name):
        return DEFAULT_PREFIX
    return f"{DEFAULT_PREFIX}_{name}"


def options(url: str) -> dict[str, str]:
    """The ``nats.connect`` options every Lantern connection passes for ``url``."""
    return {"inbox_prefix": inbox_prefix(url)}
