"""Credentials out of anything written for people: logs, start-up lines, human CLI output.

Why a text rule and not only key names: a secret usually travels inside a
value, as the password of a URL (``nats://intake:<password>@host``) or of a
libpq DSN (``password=...``).  :func:`redact` keeps the user and the address,
which are what a reader needs, and masks the secret.
"""

from __future__ import annotations

import re

MASK = "[redacted]"

#: scheme://user:password@  or  scheme://token@  (token authentication)
_URL_AUTH = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<auth>[^\s/@]+)@")
#: libpq key=value DSNs and query strings
_KEY_VALUE = re.compile(r"(?P<key>\b(?:password|passwd|pwd)\s*=\s*)(?P<value>[^\s&;]+)", re.I)


def _mask_auth(match: re.Match[str]) -> str:
    user, colon, _ = match["auth"].partition(":")
    return f"{match['scheme']}{user}:{MASK}@" if colon else f"{match['scheme']}{MASK}@"


def redact(text: str) -> str:
    """``text`` with every URL password or token and every ``password=`` value masked."""
    if "@" not in text and "=" not in text:
        return text
    text = _URL_AUTH.sub(_mask_auth, text)
    return _KEY_VALUE.sub(lambda m: f"{m['key']}{MASK}", text)
