"""Specification of the access rules and tokens, without any service running."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from plumbing.access import auth, keys, trust
from plumbing.access import rules as access
from plumbing.access.auth import AuthError, Grant, Issuer, Role, TokenPolicy, Verifier
from plumbing.access.rules import Resource, decide
from plumbing.settings import Settings

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
AT_S0 = Resource(
    incident_id="i-1",
    school_id="s0",
    student_ref="stu-1",
    reporters=frozenset({"t-1"}),
    responders=frozenset({"r-a"}),
)
SHOW = access.read(access.EVERYONE, lambda _: AT_S0)
KEY = keys.new_private_key()
ISSUER = Issuer(KEY)


@pytest.fixture
def jwks(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    keys.write_jwks(path, [KEY.public_key()])
    return path


@pytest.fixture
def verifier(jwks: Path) -> Verifier:
    return Verifier(keys.KeySet(str(jwks)))


def _keyset() -> keys.KeySet:
    """What a service holds: the public key only."""
    return keys.KeySet("", document=keys.jwks_of([KEY.public_key()]))


def who(subject: str, role: Role, *schools: str, grant: Grant | None = None) -> auth.Identity:
    """An identity as a service sees it: issued, then verified with the public key only."""
    token = ISSUER.issue(subject=subject, role=role, schools=schools, now=NOW, grant=grant)
    return Verifier(_keyset()).verify(token, NOW)


# -- tokens ------------------------------------------------------------------------------------
def test_a_token_is_a_standard_jwt_signed_with_ed25519_and_names_its_key(
    verifier: Verifier,
) -> None:
    token = ISSUER.issue(subject="sup-0", role=Role.SUPERVISOR, schools=["s0"], now=NOW)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (header["alg"], header["kid"]) == ("EdDSA", keys.kid_of(KEY.public_key()))
    assert {"sub", "role", "schools", "iss", "aud", "exp", "nbf", "iat"} <= set(claims)
    identity = verifier.verify(token, NOW)
    assert (identity.subject, identity.role, identity.schools) == ("sup-0", "supervisor", ("s0",))


def test_a_token_is_refused_when_forged_expired_early_or_for_someone_else(
    verifier: Verifier,
) -> None:
    token = ISSUER.issue(subject="adm-1", role=Role.ADMIN, now=NOW)
    other_key = Issuer(keys.new_private_key())  # another district's (unknown) key
    stolen_kid = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}),
        keys.new_private_key(),
        algorithm="EdDSA",
        headers={"kid": ISSUER.kid},  # claims to be our key
    )
    cases = {
        "unknown key": other_key.issue(subject="adm-1", role=Role.ADMIN, now=NOW),
        "signature": stolen_kid,
        "expired": token,
        "another audience": Issuer(KEY, audience="payroll").issue(
            subject="adm-1", role=Role.ADMIN, now=NOW
        ),
        "issuer": Issuer(KEY, issuer="somebody").issue(subject="adm-1", role=Role.ADMIN, now=NOW),
        "not yet valid": ISSUER.issue(
            subject="adm-1", role=Role.ADMIN, now=NOW + timedelta(minutes=5)
        ),
    }
    at = {"expired": NOW + timedelta(hours=9)}
    assert verifier.verify(token, NOW).subject == "adm-1"  # valid, and remembered as checked
    for why, forged in cases.items():
        with pytest.raises(AuthError) as refused:
            verifier.verify(forged, at.get(why, NOW))
        assert why.split()[-1] in refused.value.message, (why, refused.value.message)


def test_no_shared_secret_algorithm_is_accepted(verifier: Verifier) -> None:
    """The classic confusion attack: an HS256 token 'signed' with the public key, or none."""
    claims = jwt.decode(
        ISSUER.issue(subject="adm-1", role=Role.ADMIN, now=NOW),
        options={"verify_signature": False},
    )
    public = keys.public_jwk(KEY.public_key())["x"].encode()
    hs = jwt.encode(claims, public, algorithm="HS256", headers={"kid": ISSUER.kid})
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": ISSUER.kid})
    for token in (hs, unsigned):
        with pytest.raises(AuthError):
            verifier.verify(token, NOW)


def test_key_rotation_keeps_both_keys_valid_until_the_old_one_is_removed(tmp_path: Path) -> None:
    private, jwks = keys.dev_keys(tmp_path)
    old = Issuer(keys.load_private_key(private))
    old_token = old.issue(subject="sup-0", role=Role.SUPERVISOR, now=NOW)
    service = Verifier(keys.KeySet(str(jwks)))
    assert service.verify(old_token, NOW).subject == "sup-0"

    new_kid = keys.rotate(private, jwks)
    new = Issuer(keys.load_private_key(private))
    assert new.kid == new_kid != old.kid
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    new_token = new.issue(subject="sup-1", role=Role.SUPERVISOR, now=NOW)
    # the running service picks the new key up (the file changed) and still honours the old
    assert service.verify(new_token, NOW).subject == "sup-1"
    assert service.verify(old_token, NOW).subject == "sup-0"

    # once the old key is withdrawn from the JWKS, its tokens are refused
    document = json.loads(jwks.read_text())
    document["keys"] = [k for k in document["keys"] if k["kid"] == new_kid]
    jwks.write_text(json.dumps(document))
    # the same running service (which had verified the old token before): refused at once
    assert service.verify(new_token, NOW).subject == "sup-1"
    with pytest.raises(AuthError, match="unknown key"):
        service.verify(old_token, NOW)


def test_the_first_key_pair_is_made_by_a_rotation_from_nothing(tmp_path: Path) -> None:
    private, jwks = tmp_path / "etc" / "issuer.key", tmp_path / "etc" / "jwks.json"
    kid = keys.rotate(private, jwks)
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    assert [k["kid"] for k in json.loads(jwks.read_text())["keys"]] == [kid]
    assert not private.with_name("issuer.key.previous").exists()


def test_dev_keys_keep_the_private_key_0600_and_publish_only_the_public_one(
    tmp_path: Path,
) -> None:
    private, jwks = keys.dev_keys(tmp_path)
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    document = json.loads(jwks.read_text())
    assert [sorted(k) for k in document["keys"]] == [["alg", "crv", "kid", "kty", "use", "x"]]
    private.chmod(0o644)
    with pytest.raises(keys.KeyFileError, match="readable by others"):
        keys.load_private_key(private)


def test_a_district_idp_plugs_in_beside_lantern_s_own_issuer(tmp_path: Path) -> None:
    """Its own key (a second JWKS), its own ``iss``, app roles as a list, schools elsewhere."""
    idp_key = keys.new_private_key()
    idp = Issuer(idp_key, issuer="https://login.example-district.org")
    keys.write_jwks(tmp_path / "lantern.json", [KEY.public_key()])
    keys.write_jwks(tmp_path / "idp.json", [idp_key.public_key()])
    settings = Settings(
        service="intake",
        data_dir=tmp_path,
        dev_mode=False,
        jwks=f"{tmp_path / 'lantern.json'},{tmp_path / 'idp.json'}",
        token_issuers=("lantern", "https://login.example-district.org"),
        token_role_claim="roles",
        token_schools_claim="extension_schools",
    )
    claims = jwt.decode(
        idp.issue(subject="sup-7", role=Role.SUPERVISOR, now=NOW),
        options={"verify_signature": False},
    )
    claims.pop("role"), claims.pop("schools")
    claims["roles"] = ["Staff.All", "supervisor"]
    claims["extension_schools"] = ["s7"]
    token = jwt.encode(claims, idp_key, algorithm="EdDSA", headers={"kid": idp.kid})

    service = trust.verifier(settings)
    identity = service.verify(token, NOW)
    assert (identity.subject, identity.role, identity.schools) == (
        "sup-7",
        Role.SUPERVISOR,
        ("s7",),
    )
    # Lantern's own tokens (the console, the CLI) still verify, with their own claim names
    own = service.verify(ISSUER.issue(subject="r-a", role=Role.RESPONDER, schools=["s0"]), None)
    assert (own.role, own.schools) == (Role.RESPONDER, ("s0",))
    # the IdP may not speak for an issuer the district did not configure
    stranger = Issuer(idp_key, issuer="https://elsewhere.example.org")
    with pytest.raises(AuthError, match="issuer"):
        service.verify(stranger.issue(subject="x", role=Role.ADMIN, now=NOW), NOW)


def test_a_service_without_a_jwks_refuses_to_start_outside_development(tmp_path: Path) -> None:
    with pytest.raises(keys.KeyFileError, match="LANTERN_JWKS"):
        trust.verifier(Settings(service="intake", data_dir=tmp_path, dev_mode=False))


# -- the rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("subject", "role", "schools", "allowed"),
    [
        ("t-1", Role.REPORTER, (), True),  # reported it
        ("t-2", Role.REPORTER, (), False),
        ("r-a", Role.RESPONDER, (), True),  # dispatched to it
        ("r-b", Role.RESPONDER, (), False),
        ("sup-0", Role.SUPERVISOR, ("s0",), True),
        ("sup-1", Role.SUPERVISOR, ("s1",), False),
        ("comp-1", Role.COMPLIANCE, (), True),
        ("adm-1", Role.ADMIN, (), True),
    ],
)
def test_reading_an_incident_follows_role_and_scope(
    subject: str, role: Role, schools: tuple[str, ...], allowed: bool
) -> None:
    assert decide(SHOW, who(subject, role, *schools), None, AT_S0, NOW).allowed is allowed


def test_break_the_glass_opens_scope_until_it_expires_and_says_so() -> None:
    grant = Grant("student missing", NOW + timedelta(minutes=10), "a-1")
    outsider = who("r-b", Role.RESPONDER, grant=grant)

    during = decide(SHOW, outsider, None, AT_S0, NOW + timedelta(minutes=5))
    after = decide(SHOW, outsider, None, AT_S0, NOW + timedelta(minutes=11))

    assert (during.allowed, during.break_glass, during.reason) == (True, True, "student missing")
    assert after.allowed is False


def test_a_grant_token_ends_with_the_grant_and_never_opens_administration() -> None:
    identity = who("sup-1", Role.SUPERVISOR, grant=Grant("x", NOW + timedelta(minutes=20), "a-1"))
    assert identity.expires_at == identity.break_glass_until == NOW + timedelta(minutes=20)
    assert identity.is_grant
    assert not decide(access.admin(), identity, None, None, NOW).allowed


def test_a_grant_beyond_the_policy_is_refused_by_every_service(verifier: Verifier) -> None:
    """Even an issuer's mistake (or an IdP's) cannot lengthen a grant past the policy."""
    long = ISSUER.issue(
        subject="r-b",
        role=Role.RESPONDER,
        now=NOW,
        ttl=timedelta(hours=3),
        grant=Grant("x", NOW + timedelta(hours=2), "a-1"),
    )
    with pytest.raises(AuthError, match="policy"):
        verifier.verify(long, NOW)
    strict = Verifier(verifier.keyset, TokenPolicy(max_break_glass=timedelta(minutes=15)))
    half_hour = ISSUER.issue(
        subject="r-b",
        role=Role.RESPONDER,
        now=NOW,
        grant=Grant("x", NOW + timedelta(minutes=30), "a"),
    )
    assert verifier.verify(half_hour, NOW).is_grant
    with pytest.raises(AuthError, match="policy"):
        strict.verify(half_hour, NOW)


def test_a_responder_acts_only_as_themselves() -> None:
    ack = access.command(frozenset({Role.RESPONDER}), lambda _: AT_S0, self_field="responder_id")

    class Ack:
        responder_id = "r-b"

    decision = decide(ack, who("r-a", Role.RESPONDER), Ack(), AT_S0, NOW)
    assert (decision.allowed, decision.field) == (False, "responder_id")


class Report:
    reporter_id = "t-1"


REPORT = access.command(access.EVERYONE - {Role.COMPLIANCE}, None, self_field="reporter_id")


def test_acting_as_someone_else_is_refused_for_people_and_recorded_for_administrators() -> None:
    for role in (Role.REPORTER, Role.RESPONDER, Role.SUPERVISOR):
        decision = decide(REPORT, who("x-9", role, "s0"), Report(), None, NOW)
        assert (decision.allowed, decision.field) == (False, "reporter_id"), role
    own = decide(REPORT, who("t-1", Role.REPORTER), Report(), None, NOW)
    assert (own.allowed, own.on_behalf_of) == (True, "")
    admin = decide(REPORT, who("adm-1", Role.ADMIN), Report(), None, NOW)
    assert (admin.allowed, admin.on_behalf_of) == (True, "t-1")


def test_a_delegation_may_call_its_operations_only_on_behalf_of_the_person_named() -> None:
    token = ISSUER.delegation("followup", timedelta(days=1), NOW)
    delegation = Verifier(_keyset()).verify(token, NOW)
    assert (delegation.subject, delegation.role) == ("service:followup", Role.SERVICE)
    allowed = decide(REPORT, delegation, Report(), None, NOW, "report_incident")
    assert (allowed.allowed, allowed.on_behalf_of) == (True, "t-1")
    for operation in ("add_note", "show_incident", "add_school", "list_plans", ""):
        assert not decide(REPORT, delegation, Report(), None, NOW, operation).allowed
        assert not decide(access.admin(), delegation, None, None, NOW, operation).allowed


def test_only_a_delegation_names_operations() -> None:
    claims = jwt.decode(
        ISSUER.issue(subject="adm-1", role=Role.ADMIN, now=NOW),
        options={"verify_signature": False},
    )
    claims["ops"] = ["add_school"]
    smuggled = jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": ISSUER.kid})
    with pytest.raises(AuthError, match="delegation"):
        Verifier(_keyset()).verify(smuggled, NOW)


def test_a_supervisor_changes_the_roster_only_of_responders_at_their_schools() -> None:
    shift = access.admin(Role.SUPERVISOR)
    theirs = Resource(responder_schools=(("r-a", frozenset({"s0", "s1"})),))
    swap = Resource(responder_schools=(("r-a", frozenset({"s0"})), ("r-z", frozenset({"s9"}))))
    supervisor = who("sup-0", Role.SUPERVISOR, "s0")
    assert decide(shift, supervisor, None, theirs, NOW).allowed
    refused = decide(shift, supervisor, None, swap, NOW)
    assert (refused.allowed, refused.reason) == (
        False,
        "responder r-z does not work at one of your schools",
    )
    assert decide(shift, who("adm-1", Role.ADMIN), None, swap, NOW).allowed
