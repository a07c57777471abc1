"""Run real service processes in the test's event loop, against real NATS and real stores."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats

from events.subjects import Subjects
from lantern.natsserver import free_port
from lantern.services import builder
from plumbing.access import auth, keys
from plumbing.interface.process import ServiceProcess
from plumbing.messaging import natsurl
from plumbing.messaging.streams import provision
from plumbing.settings import DEFAULT_MAX_REQUEST_BYTES, Settings
from tests.replies import OpenApiReplies

T = TypeVar("T")

#: The issuer of every harness: tests sign tokens with its key (see Harness.token); services
#: are given only its public key, as a JWKS file under the data dir (``install_keys``).
TEST_KEY = keys.new_private_key()
TEST_ISSUER = auth.Issuer(TEST_KEY)


def install_keys(data_dir: Path) -> Path:
    """The test issuer's key pair where a dev deployment keeps it; returns the JWKS path.

    The CLI (development mode) signs its dev identity with ``issuer.key``;
    services verify with ``jwks.json`` only.
    """
    private, jwks = data_dir / keys.DEV_PRIVATE_KEY, data_dir / keys.DEV_JWKS
    if not private.exists():
        keys.write_private_key(private, TEST_KEY)
    if not jwks.exists():
        keys.write_jwks(jwks, [TEST_KEY.public_key()])
    return jwks


def admin_headers() -> dict[str, str]:
    """Headers of a district administrator, for requests sent without the harness (NATS)."""
    token = TEST_ISSUER.issue(subject="test-admin", role=auth.Role.ADMIN)
    return {auth.AUTH_HEADER: f"Bearer {token}"}


@dataclass
class Running:
    process: ServiceProcess
    task: asyncio.Task[None]
    stop: asyncio.Event
    url: str


@dataclass
class Harness:
    subjects: Subjects
    nats_url: str
    store: dict[str, str]
    running: dict[str, Running] = field(default_factory=dict)
    #: each service's published reply schemas (every reply of ``call`` is checked against them)
    contracts: dict[str, OpenApiReplies] = field(default_factory=dict)
    config_file: str = ""  # a TOML file handed to every service (short deadlines, channels)
    provisioned: bool = False
    audit_repeat_window_s: float = 60.0  # the production default
    break_glass_max_minutes: int = 60  # the production default
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES  # the production default
    #: the identity ``call`` uses unless told otherwise: a district administrator
    default_token: str = field(
        default_factory=lambda: TEST_ISSUER.issue(subject="test-admin", role=auth.Role.ADMIN)
    )

    def token(self, subject: str, role: str, schools: tuple[str, ...] = (), **more: Any) -> str:
        return TEST_ISSUER.issue(subject=subject, role=role, schools=schools, **more)

    async def break_glass(
        self, token: str, body: dict[str, Any], service: str = "intake"
    ) -> tuple[int, Any]:
        """What ``lantern break-glass`` does: the service records the grant, the issuer signs it.

        Returns the service's status and, when it recorded the grant, the reply
        with the grant's ``token`` added."""
        status, recorded = await self.call("POST", service, "/access/break-glass", body, token)
        if status != 201:
            return status, recorded
        caller = auth.Verifier(keys.KeySet(str(self.jwks_path()))).verify(token)
        until = datetime.fromisoformat(recorded["until"].replace("Z", "+00:00"))
        grant = auth.Grant(reason=recorded["reason"], until=until, audit_id=recorded["audit_id"])
        return status, {**recorded, "token": TEST_ISSUER.break_glass(caller, grant)}

    def jwks_path(self) -> Path:
        return install_keys(Path(self.store["data_dir"]))

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {auth.AUTH_HEADER: f"Bearer {token or self.default_token}"}

    def settings(self, service: str) -> Settings:
        jwks = self.jwks_path()  # and the CLI's dev issuer key beside it
        return Settings(
            service=service,
            data_dir=Path(self.store["data_dir"]),
            nats_url=self.nats_url,
            prefix=self.subjects.prefix,
            http_port=free_port(),
            store=self.store["store"],  # type: ignore[arg-type]
            postgres_dsn=self.store.get("postgres_dsn", ""),
            postgres_schema=self.store.get("postgres_schema", ""),
            config_file=self.config_file,
            jwks=str(jwks),
            service_token=TEST_ISSUER.delegation(service, timedelta(hours=2))
            if service in auth.DELEGATIONS
            else "",
            partitions=self.subjects.partitions,
            audit_repeat_window_s=self.audit_repeat_window_s,
            break_glass_max_minutes=self.break_glass_max_minutes,
            max_request_bytes=self.max_request_bytes,
            dev_mode=True,  # generated store key under the data dir
        )

    async def provision(self) -> None:
        """Streams and the lease bucket, as `lantern up` provisions them before services start."""
        if self.provisioned:
            return
        nc = await nats.connect(self.nats_url, **natsurl.tls_options())  # TLS when the test asks
        try:
            await provision(nc.jetstream(), self.subjects)
        finally:
            await nc.close()
        self.provisioned = True

    async def start(self, service: str) -> ServiceProcess:
        with contextlib.suppress(Exception):  # NATS may be down on purpose (outage tests)
            await asyncio.wait_for(self.provision(), timeout=5)
        settings = self.settings(service)
        process = builder(service)(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(process.run(stop))
        url = f"http://{settings.http_host}:{settings.http_port}"
        self.running[service] = Running(process, task, stop, url)
        await eventually(lambda: self._healthy(url), timeout=15)
        return process

    async def _healthy(self, url: str) -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{url}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    async def stop(self, service: str) -> None:
        running = self.running.pop(service)
        running.stop.set()
        await asyncio.wait_for(running.task, timeout=20)

    async def stop_all(self) -> None:
        for service in list(self.running):
            with contextlib.suppress(Exception):
                await self.stop(service)

    async def call(
        self, method: str, service: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """One HTTP request; its reply must fit the schema the service publishes for it."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.request(
                method,
                f"{self.running[service].url}{path}",
                json=body,
                headers=self.headers(token),
            )
            if service not in self.contracts:
                document = (await client.get(f"{self.running[service].url}/openapi.json")).json()
                self.contracts[service] = OpenApiReplies(document)
        reply = response.json()
        self.contracts[service].check(method, path, response.status_code, reply)
        return response.status_code, reply

    async def seed(self, schools: int = 1) -> None:
        for i in range(schools):
            await self.call("POST", "intake", "/schools", {"school_id": f"s{i}", "name": f"S{i}"})
        await self.seed_roster()

    async def seed_roster(self) -> None:
        """One counselor for school s0 (dispatch only)."""
        await self.call(
            "POST",
            "dispatch",
            "/roster/responders",
            {"responder_id": "r-a", "name": "A", "role": "counselor", "schools": ["s0"]},
        )

    async def report(self, **overrides: Any) -> tuple[int, Any]:
        body = {
            "school_id": "s0",
            "student_ref": "stu-1",
            "categories": ["acute_distress"],
            "risk": "moderate",
            "reporter_id": "t-1",
        }
        body.update(overrides)
        return await self.call("POST", "intake", "/incidents", body)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = await probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {last!r})")
        await asyncio.sleep(interval)
        last = await probe()
    return last
