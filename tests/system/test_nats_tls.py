"""Specification: with TLS settings, every Lantern connection to NATS is TLS from its first byte.

Given a wheel nats-server that requires TLS with the handshake first and a
client certificate signed by the district's CA, when intake and dispatch run
with ``LANTERN_NATS_TLS_CA``, ``..._CERT`` and ``..._KEY``, then a report is
assigned as on plain NATS.  A client without TLS, one that trusts another CA
and one without a client certificate are all refused; a TLS file that cannot be
used stops ``lantern serve`` with one clear line, before it connects.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest

from events.subjects import Subjects
from lantern import natsserver
from lantern.cli import main
from plumbing.messaging import natsurl
from tests import tls_certs
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system


@pytest.fixture
def certificates(tmp_path: Path) -> tls_certs.Certificates:
    return tls_certs.make(tmp_path / "tls")


@pytest.fixture
def tls_nats(tmp_path: Path, certificates: tls_certs.Certificates) -> Iterator[str]:
    """A nats-server with JetStream that speaks only TLS, handshake first, client certs verified."""
    port = natsserver.free_port()
    config = tmp_path / "nats-tls.conf"
    natsserver.write_config(config, port=port, store_dir=tmp_path / "jetstream")
    c = certificates
    config.write_text(
        config.read_text()
        + "tls {\n"
        + f'  cert_file: "{c.server_cert}"\n  key_file: "{c.server_key}"\n'
        + f'  ca_file: "{c.ca}"\n  verify: true\n  handshake_first: true\n'
        + "}\n"
    )
    with (tmp_path / "nats.log").open("ab") as log:
        proc = subprocess.Popen([natsserver.binary(), "-c", str(config)], stdout=log, stderr=log)
    try:
        for _ in range(200):
            if not natsserver.port_free(port):
                break
            assert proc.poll() is None, (tmp_path / "nats.log").read_text()
            subprocess.run(["sleep", "0.05"], check=True)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def tls_env(monkeypatch: pytest.MonkeyPatch, certificates: tls_certs.Certificates) -> None:
    monkeypatch.setenv("LANTERN_NATS_TLS_CA", str(certificates.ca))
    monkeypatch.setenv("LANTERN_NATS_TLS_CERT", str(certificates.client_cert))
    monkeypatch.setenv("LANTERN_NATS_TLS_KEY", str(certificates.client_key))


@pytest.fixture
async def system(
    subjects: Subjects, tls_nats: str, tls_env: None, store: dict[str, str]
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, tls_nats, store)
    for service in ("intake", "dispatch"):
        await harness.start(service)
    await harness.seed()
    yield harness
    await harness.stop_all()


async def test_over_tls_a_report_is_assigned_as_on_plain_nats(system: Harness) -> None:
    status, reported = await system.report(student_ref="stu-tls")
    assert status == 201, reported

    async def assigned() -> bool:
        _, response = await system.call(
            "GET", "dispatch", f"/incidents/{reported['incident_id']}/response"
        )
        return isinstance(response, dict) and response.get("current") is not None

    await eventually(assigned, timeout=15)
    for service in ("intake", "dispatch"):
        process = system.running[service].process
        assert process.messaging.connected, service


async def refused(url: str, **options: object) -> bool:
    with contextlib.suppress(Exception):
        nc = await nats.connect(
            url, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False, **options
        )
        await nc.close()
        return False
    return True


async def test_plain_untrusting_or_certificate_less_clients_are_refused(
    tls_nats: str, certificates: tls_certs.Certificates, tmp_path: Path
) -> None:
    c = certificates
    other = tls_certs.make(tmp_path / "other", "Someone else's CA")
    full = {
        "LANTERN_NATS_TLS_CA": str(c.ca),
        "LANTERN_NATS_TLS_CERT": str(c.client_cert),
        "LANTERN_NATS_TLS_KEY": str(c.client_key),
    }
    # the settings Lantern uses connect...
    assert not await refused(tls_nats, **natsurl.tls_options(full))
    # ...and nothing less does
    assert await refused(tls_nats)  # plain NATS
    assert await refused(
        tls_nats, **natsurl.tls_options({**full, "LANTERN_NATS_TLS_CA": str(other.ca)})
    )
    assert await refused(tls_nats, **natsurl.tls_options({"LANTERN_NATS_TLS_CA": str(c.ca)}))


def test_a_tls_file_that_cannot_be_used_stops_serve_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, certificates: tls_certs.Certificates
) -> None:
    monkeypatch.setenv("LANTERN_DEV_MODE", "1")
    monkeypatch.setenv("LANTERN_NATS_TLS_CA", str(tmp_path / "missing-ca.pem"))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--data-dir", str(tmp_path / "data"), "serve", "intake"])
    assert code != 0
    assert "refused to start" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    # a client certificate without the CA that says whom to trust is refused too
    monkeypatch.setenv("LANTERN_NATS_TLS_CA", "")
    monkeypatch.setenv("LANTERN_NATS_TLS_CERT", str(certificates.client_cert))
    with pytest.raises(natsurl.TlsSettingError, match="needs LANTERN_NATS_TLS_CA"):
        natsurl.tls_context()
