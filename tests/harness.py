"""Run real service processes in the test's event loop, against real NATS and real stores."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats

from events.subjects import Subjects
from lantern.natsserver import free_port
from lantern.services import builder
from plumbing.access import auth
from plumbing.interface.process import ServiceProcess
from plumbing.messaging.streams import provision
from plumbing.settings import Settings
from tests.replies import OpenApiReplies

T = TypeVar("T")

#: The district secret of every harness: tests mint tokens with it (see Harness.token).
TEST_AUTH_SECRET = "lantern-test-secret"


def admin_headers() -> dict[str, str]:
    """Headers of a district administrator, for requests sent without the harness (NATS)."""
    token = auth.issue(TEST_AUTH_SECRET.encode(), subject="test-admin", role=auth.Role.ADMIN)
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
    #: the identity ``call`` uses unless told otherwise: a district administrator
    default_token: str = field(
        default_factory=lambda: auth.issue(
            TEST_AUTH_SECRET.encode(), subject="test-admin", role=auth.Role.ADMIN
        )
    )

    def token(self, subject: str, role: str, schools: tuple[str, ...] = (), **more: Any) -> str:
        return auth.issue(
            TEST_AUTH_SECRET.encode(), subject=subject, role=role, schools=schools, **more
        )

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {auth.AUTH_HEADER: f"Bearer {token or self.default_token}"}

    def settings(self, service: str) -> Settings:
        # The CLI signs its dev identity with the secret it finds under the data dir.
        secret_file = Path(self.store["data_dir"]) / auth.DEV_SECRET_FILE
        if not secret_file.exists():
            secret_file.write_text(TEST_AUTH_SECRET)
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
            auth_secret=TEST_AUTH_SECRET,
            partitions=self.subjects.partitions,
            audit_repeat_window_s=self.audit_repeat_window_s,
            dev_mode=True,  # generated store key under the data dir
        )

    async def provision(self) -> None:
        """Streams and the lease bucket, as `lantern up` provisions them before services start."""
        if self.provisioned:
            return
        nc = await nats.connect(self.nats_url)
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
