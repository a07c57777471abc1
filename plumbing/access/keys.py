"""Signing keys: an issuer's Ed25519 private key, and the JWKS services verify with.

Why two halves: only an issuer (``lantern token``, the console's sign-in, a
district identity provider) may create an identity, so only it holds a private
key.  Every service holds the public half only, as a JWKS document (RFC 7517)
read from a file or fetched from a URL, and can verify but never sign.

Each key is named by its ``kid``, the RFC 7638 thumbprint of its public key, so
a token says which key signed it.  Rotation: add the new key to the JWKS, start
signing with it, and remove the old key once the last token it signed has
expired (``lantern keys rotate`` keeps both published until then).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt import PyJWK

ALGORITHM = "EdDSA"
#: What a service accepts: asymmetric signatures only (never HS256, never "none").
ALGORITHMS = frozenset({"EdDSA", "ES256", "RS256"})
DEV_PRIVATE_KEY = "issuer.key"  # development mode: the issuer's key under the data dir
DEV_JWKS = "jwks.json"  # ... and the public keys beside it: all a service is given
#: How long a JWKS fetched from a URL is trusted before it is fetched again.
JWKS_CACHE_S = 300.0
#: An unknown ``kid`` refetches the JWKS (a rotation), but not more often than this.
REFETCH_MIN_S = 10.0


class KeyFileError(ValueError):
    """A key file or JWKS that cannot be used (missing, unreadable, too open)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_of(public: Ed25519PublicKey) -> str:
    """The key's RFC 7638 thumbprint: the same key has the same name everywhere."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64(_raw(public))}, separators=(",", ":")
    )
    return _b64(hashlib.sha256(canonical.encode()).digest())


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64(_raw(public)),
        "kid": kid_of(public),
        "alg": ALGORITHM,
        "use": "sig",
    }


def jwks_of(keys: Iterable[Ed25519PublicKey]) -> dict[str, Any]:
    return {"keys": [public_jwk(k) for k in keys]}


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """PEM (PKCS#8), created 0600 so no other user ever could read it; never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The issuer's key; refused when group or others may read it."""
    try:
        mode = path.stat().st_mode
        pem = path.read_bytes()
    except OSError:
        raise KeyFileError(f"cannot read the signing key {path}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"the signing key {path} is readable by others: chmod 600 it")
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"the signing key {path} is not an Ed25519 key")
    return key


def write_jwks(
    path: Path, keys: Iterable[Ed25519PublicKey], also: Iterable[dict[str, Any]] = ()
) -> None:
    """Public keys only: readable by every service (written whole, then renamed into place).

    ``also``: JWKs already published (kept after the new ones: a rotation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = jwks_of(keys)
    document["keys"] += [k for k in also if k not in document["keys"]]
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(document, indent=2) + "\n")
    scratch.replace(path)


def read_jwks(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        raise KeyFileError(f"cannot read the JWKS {path}") from None
    return document


def public_keys(document: dict[str, Any]) -> dict[str, PyJWK]:
    """kid -> key for every asymmetric signing key of a JWKS.

    Ed25519 is what Lantern's own issuers use; RS256 and ES256 keys are accepted
    too, because that is what district identity providers publish.  The
    algorithm is the key's, never the token header's, and shared-secret
    (``oct``) keys are skipped: a public document cannot hold a secret.
    """
    found: dict[str, PyJWK] = {}
    for jwk in document.get("keys", []):
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(jwk)
        except (jwt.PyJWKError, jwt.InvalidKeyError):
            continue
        if key.algorithm_name not in ALGORITHMS:
            continue
        kid = str(jwk.get("kid") or "")
        if not kid and isinstance(key.key, Ed25519PublicKey):
            kid = kid_of(key.key)
        if kid:
            found[kid] = key
    return found


class KeySet:
    """The public keys a service trusts: a JWKS file (re-read when it changes) or URL (cached)."""

    def __init__(
        self, source: str, *, cache_s: float = JWKS_CACHE_S, document: dict[str, Any] | None = None
    ) -> None:
        self.source = "" if document is not None else source
        self.cache_s = cache_s
        self._keys: dict[str, PyJWK] = {}
        self._stamp: object = None
        self._fetched = 0.0
        self._lock = threading.Lock()
        if document is not None:  # a fixed set, given whole (tests, an embedded issuer)
            self._keys, self._fetched = public_keys(document), time.monotonic()
            return
        if not source:
            raise KeyFileError("no JWKS configured (LANTERN_JWKS: a file path or an https URL)")
        if self.is_url:
            self._refuse_plain_http()
        self._load(force=True)

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("https://", "http://"))

    def _refuse_plain_http(self) -> None:
        """Keys fetched without TLS could be swapped on the way: https, or http on loopback only
        (a sidecar on the same host)."""
        parts = urllib.parse.urlsplit(self.source)
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise KeyFileError(
                f"the JWKS URL must be https (http only on this host): {parts.hostname}"
            )

    def key(self, kid: str) -> PyJWK | None:
        """The key named ``kid``; an unknown one makes the set look again (a rotation)."""
        with self._lock:
            self._load(force=False)
            if kid not in self._keys and time.monotonic() - self._fetched >= REFETCH_MIN_S:
                self._load(force=True)
            return self._keys.get(kid)

    def _load(self, *, force: bool) -> None:
        if not self.source:
            return
        if self.is_url:
            if not force and time.monotonic() - self._fetched < self.cache_s:
                return
            with urllib.request.urlopen(self.source, timeout=5) as reply:  # noqa: S310 - http(s) only
                document = json.loads(reply.read())
            self._keys, self._fetched = public_keys(document), time.monotonic()
            return
        try:
            info = os.stat(self.source)  # every use: a rotation or a withdrawal counts at once
        except OSError:
            raise KeyFileError(f"cannot read the JWKS {self.source}") from None
        stamp: object = (info.st_mtime_ns, info.st_size, info.st_ino)
        if force or stamp != self._stamp:
            self._keys, self._stamp = public_keys(read_jwks(Path(self.source))), stamp
            self._fetched = time.monotonic()


class KeySets:
    """Several JWKS at once (``LANTERN_JWKS=a,b``): Lantern's own issuer and a district IdP."""

    def __init__(self, sources: Iterable[str]) -> None:
        self.sets = [KeySet(source.strip()) for source in sources if source.strip()]
        if not self.sets:
            raise KeyFileError("no JWKS configured (LANTERN_JWKS: a file path or an https URL)")

    def key(self, kid: str) -> PyJWK | None:
        return next((k for s in self.sets if (k := s.key(kid)) is not None), None)


def dev_keys(data_dir: Path) -> tuple[Path, Path]:
    """Development mode: the issuer's key (0600) and its JWKS under the data dir, made once."""
    private, jwks = data_dir / DEV_PRIVATE_KEY, data_dir / DEV_JWKS
    with contextlib.suppress(FileExistsError):
        write_private_key(private, new_private_key())
    if not jwks.exists():
        write_jwks(jwks, [load_private_key(private).public_key()])
    return private, jwks


def rotate(private: Path, jwks: Path) -> str:
    """A new signing key replaces ``private``; the JWKS publishes it beside the keys it had.

    The previous private key is kept as ``<name>.previous`` (0600) until its
    tokens have expired; remove its entry from the JWKS then.  Returns the new kid.
    """
    old = read_jwks(jwks)["keys"] if jwks.exists() else []
    fresh = new_private_key()
    staged = private.with_name(private.name + ".new")
    staged.unlink(missing_ok=True)
    write_private_key(staged, fresh)
    write_jwks(jwks, [fresh.public_key()], also=old)  # published before it signs anything
    if private.exists():
        private.replace(private.with_name(private.name + ".previous"))
    staged.replace(private)
    return kid_of(fresh.public_key())
