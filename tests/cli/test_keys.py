"""The CLI as an issuer: a district's first key pair, tokens signed with it, a rotation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from plumbing.access import auth, keys


def lantern(tmp_path: Path, *args: str) -> Any:
    env = {
        **os.environ,
        "LANTERN_DEV_MODE": "0",
        "LANTERN_SIGNING_KEY": str(tmp_path / "etc" / "issuer.key"),
        "LANTERN_JWKS": str(tmp_path / "etc" / "jwks.json"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "lantern.cli", "--data-dir", str(tmp_path), *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_cli_makes_keys_signs_tokens_and_rotates_with_both_keys_valid(tmp_path: Path) -> None:
    first = lantern(tmp_path, "rotate-keys")
    jwks = Path(first["jwks"])
    service = auth.Verifier(keys.KeySet(str(jwks)))  # what a service holds
    old = lantern(tmp_path, "token", "--as", "sup-0", "--role", "supervisor", "--school", "s0")
    assert service.verify(old["token"]).schools == ("s0",)

    second = lantern(tmp_path, "rotate-keys")
    new = lantern(tmp_path, "token", "--as", "adm-1", "--role", "admin", "--ttl", "5")
    assert second["kid"] != first["kid"]
    assert [k["kid"] for k in json.loads(jwks.read_text())["keys"]] == [
        second["kid"],
        first["kid"],
    ]
    assert (service.verify(old["token"]).subject, service.verify(new["token"]).subject) == (
        "sup-0",
        "adm-1",
    )


ANYONE = ("--as", "x", "--role", "admin", "--json")


def test_without_a_signing_key_the_cli_cannot_sign(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lantern.cli", "--data-dir", str(tmp_path), "token", *ANYONE],
        capture_output=True,
        text=True,
        env={**os.environ, "LANTERN_DEV_MODE": "0"},
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert json.loads(done.stderr)["field"] == "LANTERN_SIGNING_KEY"


@pytest.mark.parametrize("service", sorted(auth.DELEGATIONS))
def test_a_delegation_names_its_one_operation(tmp_path: Path, service: str) -> None:
    lantern(tmp_path, "rotate-keys")
    minted = lantern(tmp_path, "token", "--service", service, "--ttl", "60")
    identity = auth.Verifier(keys.KeySet(str(tmp_path / "etc" / "jwks.json"))).verify(
        minted["token"]
    )
    assert (identity.role, identity.operations) == (auth.Role.SERVICE, auth.DELEGATIONS[service])
