"""What a NATS URL and the environment say about a connection: its reply inbox, its TLS.

Why per-user inboxes: nats-py replies arrive on ``_INBOX.<random>`` unless told
otherwise, and a user allowed to subscribe to ``_INBOX.>`` reads every other
user's replies (tokens, incident bodies).  Each Lantern user is allowed only
``_INBOX_<user>.>`` (``lantern/nats_permissions.py``), so every connection made
with a user and password must ask for replies there: ``connect(**options(url))``.

Why TLS is all or nothing: nats-py upgrades to TLS only when the server's first,
plain-text INFO line asks for it, so someone between a service and the server
could leave that out and read the password in the CONNECT that follows.  With
``LANTERN_NATS_TLS_CA`` set, every Lantern connection does the TLS handshake
first, before a byte of NATS is exchanged, and verifies the server against that
CA (the servers set ``handshake_first: true`` in their ``tls`` block).
``LANTERN_NATS_TLS_CERT`` and ``LANTERN_NATS_TLS_KEY`` add a client certificate,
for servers that verify clients too.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from typing import Any
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


class TlsSettingError(ValueError):
    """A TLS setting that cannot be used (a file missing or not a certificate or key)."""


def tls_context(env: Mapping[str, str] | None = None) -> ssl.SSLContext | None:
    """The client TLS context the environment asks for, or None for plain NATS (loopback)."""
    env = os.environ if env is None else env
    ca = env.get("LANTERN_NATS_TLS_CA", "")
    cert, key = env.get("LANTERN_NATS_TLS_CERT", ""), env.get("LANTERN_NATS_TLS_KEY", "")
    if not ca:
        if cert or key:
            raise TlsSettingError("LANTERN_NATS_TLS_CERT needs LANTERN_NATS_TLS_CA as well")
        return None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert:
            context.load_cert_chain(cert, key or None)
    except (OSError, ssl.SSLError) as exc:
        raise TlsSettingError(f"cannot use the NATS TLS files: {exc.strerror or exc}") from None
    return context


def tls_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``tls`` and ``tls_handshake_first`` for ``nats.connect``; {} without TLS settings."""
    context = tls_context(env)
    return {} if context is None else {"tls": context, "tls_handshake_first": True}


def options(url: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``nats.connect`` options every Lantern connection passes for ``url``."""
    return {"inbox_prefix": inbox_prefix(url), **tls_options(env)}
