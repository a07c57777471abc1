"""Specification: no password, key or synthetic PII where it can leak; dev mode is asked for.

The demo stack runs as ``make up`` starts it (``lantern up --demo``, the
embedded nats-server with per-user passwords); a report carries a synthetic
student name and note.  Afterwards none of the NATS passwords, the district
secret, the store key, the name or the note is found in any log, in
``run.json``, in the human ``lantern info`` output or in the JetStream store
directory; every file holding a secret is the owner's alone.  ``lantern info
--json`` still gives tools the operator's URL (the contract).

Without ``--demo``/``--dev``, start-up refuses a missing key, the public
integrity key and a secret file others may read, before anything runs.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plumbing.integrity.chainer import DEV_KEY
from tests.lantern_cli import as_json, lantern, running_system

pytestmark = pytest.mark.system

NAME = "Quillon Improbablename"
NOTE = "PRIVATE-NOTE-kumquat-5521"


def everything_under(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def test_no_password_key_or_pii_in_logs_run_file_info_or_jetstream(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with running_system(data):
        accepted = as_json(
            lantern(
                data,
                "report",
                "--school",
                "birch-hs",
                "--student",
                "stu-sec-1",
                "--category",
                "self_harm",
                "--risk",
                "high",
                "--reporter",
                "staff-17",
                "--note",
                NOTE,
                "--student-name",
                NAME,
                "--json",
            )
        )
        deadline = time.monotonic() + 30
        status = ("status", accepted["incident_id"], "--json")
        while as_json(lantern(data, *status))["dispatch"] is None:
            assert time.monotonic() < deadline, "dispatch never saw the report"
            time.sleep(0.2)
        human_info = lantern(data, "info")
        contract_info = as_json(lantern(data, "info", "--json"))
        run_file = (data / "run.json").read_bytes()
        secret_files = [
            data / n for n in ("run.json", "nats-users.json", "issuer.key", "cipher.key")
        ] + sorted(data.glob("*-keys.sqlite"))
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in secret_files}
    passwords = json.loads((data / "nats-users.json").read_text())
    keys = [(data / f).read_text().strip() for f in ("issuer.key", "cipher.key")]
    keys += (data / "issuer.key").read_text().splitlines()[1:-1]  # the PEM's base64 body alone
    logs = everything_under(data / "logs") + (data / "up.log").read_bytes()
    jetstream = everything_under(data / "nats")
    assert human_info.returncode == 0, human_info.stderr
    assert b"stu-sec-1" in jetstream  # the store was found, and the report went through it

    for secret in [*passwords.values(), *keys, NAME, NOTE]:
        found = secret.encode()
        assert found not in logs, secret
        assert found not in run_file, secret
        assert secret not in human_info.stdout, secret
        assert found not in jetstream, secret
    assert "operator:[redacted]@" in human_info.stdout
    assert modes == dict.fromkeys(modes, 0o600)
    assert len(modes) >= 5  # the four files and at least one service's student keys
    # the contract: tools get the operator's URL from `lantern info --json`
    assert contract_info["nats_url"].startswith(f"nats://operator:{passwords['operator']}@")


def up_without_dev_mode(data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LANTERN_")}
    return subprocess.run(
        [sys.executable, "-m", "lantern.cli", "up", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
        check=False,
    )


KEYS = {
    "LANTERN_INTEGRITY_KEY": "synthetic-integrity-key-for-this-test",
    "LANTERN_JWKS": "/etc/synthetic/jwks.json",  # public keys only: never read before refusing
}


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({}, "LANTERN_INTEGRITY_KEY is required"),
        ({**KEYS, "LANTERN_INTEGRITY_KEY": DEV_KEY}, "public development key"),
        (KEYS, "LANTERN_CIPHER_KEY is required"),
        ({k: v for k, v in KEYS.items() if k != "LANTERN_JWKS"}, "LANTERN_JWKS is required"),
    ],
)
def test_without_dev_mode_up_refuses_a_missing_or_public_key(
    tmp_path: Path, env: dict[str, str], refusal: str
) -> None:
    result = up_without_dev_mode(tmp_path, **env)

    assert result.returncode != 0
    assert refusal in result.stdout + result.stderr
    assert not (tmp_path / "nats").exists()  # refused before anything started
    assert not (tmp_path / "run.json").exists()


def test_without_dev_mode_up_refuses_a_secret_file_others_may_read(tmp_path: Path) -> None:
    users = tmp_path / "nats-users.json"
    users.write_text("{}")
    users.chmod(0o644)

    result = up_without_dev_mode(tmp_path, **KEYS, LANTERN_CIPHER_KEY="c3ludGhldGlj")

    assert result.returncode != 0
    assert f"{users} holds a secret and others may read it (mode 644)" in result.stderr
    assert not (tmp_path / "nats").exists()
