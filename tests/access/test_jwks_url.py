"""Specification: a JWKS fetched by URL, over TLS or from this host only.

Given a district IdP that publishes its keys at a URL, a service verifies its
tokens with the keys fetched from there (a real HTTP server on loopback stands
in for a sidecar); a plain-http URL to another host is refused at start-up,
because keys fetched without TLS could be swapped on the way.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plumbing.access import keys
from plumbing.access.auth import AuthError, Issuer, Verifier

pytestmark = pytest.mark.system  # a real HTTP server

KEY = keys.new_private_key()


@pytest.fixture
def jwks_url() -> Iterator[str]:
    document = json.dumps(keys.jwks_of([KEY.public_key()])).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


def test_tokens_verify_with_keys_fetched_from_a_loopback_url(jwks_url: str) -> None:
    verifier = Verifier(keys.KeySet(jwks_url))
    identity = verifier.verify(Issuer(KEY).issue(subject="t-1", role="reporter"))
    assert identity.subject == "t-1"
    stranger = Issuer(keys.new_private_key()).issue(subject="t-1", role="admin")
    with pytest.raises(AuthError):
        verifier.verify(stranger)


@pytest.mark.parametrize(
    "url", ["http://idp.example-district.org/jwks.json", "http://10.0.0.7/.well-known/jwks"]
)
def test_a_plain_http_url_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(keys.KeyFileError, match="must be https"):
        keys.KeySet(url)
