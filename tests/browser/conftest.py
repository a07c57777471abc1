"""A whole Lantern (``lantern up --demo``, embedded NATS) and a real OIDC provider, once per
module, and Debian's Chromium driven by Playwright.

The browser is Debian's ``chromium`` (``make test`` installs it when missing; Playwright's
own browser downloads are never used).  The identity provider is ``oidc-provider-mock``,
a real OpenID Connect server on a free port.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from lantern import runfile

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_ROOT = Path(__file__).resolve().parents[2]
#: A test run keeps its screenshots out of the tracked tree (a clean checkout stays clean);
#: ``LANTERN_UPDATE_SHOTS=1 make browser`` refreshes the README's pictures in docs/console/.
SHOTS = (
    _ROOT / "docs" / "console"
    if os.environ.get("LANTERN_UPDATE_SHOTS") == "1"
    else _ROOT / ".lantern" / "screenshots"
)
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

#: People the test identity provider knows (synthetic): a roster responder, a staff member
#: of the district's domain (a reporter) and the records officer named in the config.
IDP_USERS = {
    "sw-casey": "sw-casey@district.example",
    "t.lee": "t.lee@district.example",
    "records.officer": "records.officer@district.example",
    "stranger": "someone@elsewhere.example",
}
CONFIG = """
[console]
staff_domains = ["district.example"]
[[console.people]]
email = "records.officer@district.example"
person_id = "privacy-officer"
role = "compliance"
name = "Records officer"
"""


@dataclass
class System:
    data_dir: Path
    url: str
    nats_url: str
    idp: str
    #: what the IdP was sent: authorization requests' and token requests' parameters
    seen: dict[str, list[dict[str, str]]]

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = runfile.read(self.data_dir)
        return info


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[str, dict[str, list[dict[str, str]]]]]:
    """The provider, and a record of what the console sent it (to check PKCE)."""
    import werkzeug.serving
    from oidc_provider_mock import User, app

    users = [
        User(sub=sub, claims={"email": email, "email_verified": True, "name": sub})
        for sub, email in IDP_USERS.items()
    ]
    provider = app(user_claims=users)
    seen: dict[str, list[dict[str, str]]] = {"authorize": [], "token": []}

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/oauth2/authorize" and environ["REQUEST_METHOD"] == "GET":
            seen["authorize"].append(dict(parse_qsl(environ.get("QUERY_STRING", ""))))
        elif path == "/oauth2/token":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            seen["token"].append(dict(parse_qsl(body.decode())))
        return provider(environ, start_response)

    server = werkzeug.serving.make_server("localhost", 0, recording, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}", seen
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, idp: tuple[str, dict[str, list[dict[str, str]]]]
) -> Iterator[System]:
    """`lantern up --demo` with the console signing in through the test IdP."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make browser-deps` installs it")
    data_dir = tmp_path_factory.mktemp("lantern-console")
    config = data_dir / "lantern.toml"
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "LANTERN_CONSOLE_OIDC_ISSUER": idp[0],
        "LANTERN_CONSOLE_OIDC_CLIENT_SECRET": "console-test-secret",
    }
    log = (data_dir / "up.log").open("w")
    argv = [sys.executable, "-m", "lantern.cli", "up", "--demo", "--data-dir", str(data_dir)]
    up = subprocess.Popen([*argv, "--config", str(config)], stdout=log, stderr=log, env=env)
    deadline = time.monotonic() + 60
    while not (data_dir / "run.json").exists():
        assert up.poll() is None, (data_dir / "up.log").read_text()
        assert time.monotonic() < deadline, "lantern up did not become ready"
        time.sleep(0.1)
    info = runfile.read(data_dir)  # nats_url with the operator's credentials
    try:
        yield System(data_dir, info["http_url"], info["nats_url"], idp[0], idp[1])
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            up.kill()
        for name in ("console", "intake", "dispatch"):
            shutil.copy(data_dir / "logs" / f"{name}.log", data_dir / f"{name}.kept.log")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
