"""Specification: credentials are masked in every log line; secret files are the owner's alone."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from plumbing import logs
from plumbing.redaction import redact
from plumbing.secretfiles import SecretExposed, refuse_exposed, write_private


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("nats://intake:s3cr3t@127.0.0.1:4222", "nats://intake:[redacted]@127.0.0.1:4222"),
        ("nats://a-bare-token@10.0.0.1:4222", "nats://[redacted]@10.0.0.1:4222"),
        (
            "host=127.0.0.1 user=lantern password=s3cr3t dbname=lantern",
            "host=127.0.0.1 user=lantern password=[redacted] dbname=lantern",
        ),
        (
            "postgresql://lantern:s3cr3t@db/lantern?sslmode=require",
            "postgresql://lantern:[redacted]@db/lantern?sslmode=require",
        ),
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("staff@district.example wrote", "staff@district.example wrote"),
    ],
)
def test_a_credential_in_text_is_masked_and_the_rest_kept(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_no_logger_writes_a_url_password(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("test", json=True, level="INFO")
    try:
        logs.get("lantern.test").info(
            "connected to nats://intake:pw-structlog@h:4222",
            nats="nats://intake:pw-field@h:4222",
            nested={"dsn": "host=h password=pw-nested"},
        )
        logging.getLogger("nats").error("lost nats://dispatch:pw-stdlib@h:4222")
        try:
            raise ConnectionError("nats://followup:pw-traceback@h:4222 refused")
        except ConnectionError:
            logging.getLogger("uvicorn.error").exception("failed")
    finally:
        logs.configure("tests", json=True, level="WARNING")
    written = capsys.readouterr().err
    for password in ("pw-structlog", "pw-field", "pw-nested", "pw-stdlib", "pw-traceback"):
        assert password not in written
    lines = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    assert lines[0]["nats"] == "nats://intake:[redacted]@h:4222"  # who and where stay


def test_a_secret_file_is_written_owner_only_and_whole(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text("old")
    path.chmod(0o644)

    write_private(path, '{"new": true}')

    assert path.read_text() == '{"new": true}'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary file left
    refuse_exposed([path])  # owner-only: accepted


def test_a_secret_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cipher.key"
    path.write_text("k")
    path.chmod(0o640)

    with pytest.raises(SecretExposed, match=r"cipher\.key holds a secret"):
        refuse_exposed([path])
