"""``lantern up``: one supervised process tree (embedded NATS, every service, their HTTP APIs).

Each service is its own OS process (``lantern serve <service>``), restarted with
back-off if it dies; the supervisor records where everything listens in
``<data dir>/run.json`` and removes it when it stops.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from lantern import demo, natsserver, runfile
from lantern.client import Unreachable, request, use_token
from lantern.lock import DataDirLock
from lantern.services import SERVICES
from lantern.stores import StoreChoice
from plumbing import redaction
from plumbing.settings import asked_for_dev_mode

#: When every service shares one machine, the day-of-crisis path (intake, dispatch) comes
#: first: follow-up and records catch up from their streams a moment later under load.
BACKGROUND_NICENESS = {"followup": 5, "records": 10}
#: How long the delegations ``up`` signs last (a deployment re-signs them when it restarts).
DELEGATION_TTL = timedelta(days=30)


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    niceness: int = 0

    def start(self) -> None:
        niceness = self.niceness

        def lower_priority() -> None:
            os.nice(niceness)

        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=log,
                env=self.env,
                preexec_fn=lower_priority if niceness else None,
            )

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Supervisor:
    data_dir: Path
    nats_url: str | None = None
    demo: bool = False
    dev: bool = False  # development mode, asked for (--dev, --demo)
    prefix: str = "lantern"
    config: Path | None = None
    store: StoreChoice = field(default_factory=StoreChoice.from_env)
    out: Any = sys.stdout
    children: list[Child] = field(default_factory=list)
    nats: subprocess.Popen[bytes] | None = None
    nats_port: int = 0
    passwords: dict[str, str] | None = None  # per-service NATS users, when embedded
    #: what every service is told about tokens (the JWKS path: public keys only)
    token_env: dict[str, str] = field(default_factory=dict)
    signing_key: str = ""  # the issuer's private key path: the console's only
    service_tokens: dict[str, str] = field(default_factory=dict)  # delegations, by service
    stopping: bool = False

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def start_nats(self) -> str:
        if self.nats_url:
            self.say(f"NATS       using {redaction.redact(self.nats_url)}")
            return self.nats_url
        port = natsserver.DEFAULT_PORT
        if not natsserver.port_free(port):
            busy = port
            port = natsserver.free_port()
            self.say(f"NATS       port {busy} is taken (another nats-server?); using {port}")
        if natsserver.PERMISSIONS.exists() and self.prefix == "lantern":
            self.passwords = natsserver.credentials(self.data_dir)
        self.nats = natsserver.start(
            port=port,
            store_dir=self.data_dir / "nats",
            log_file=self.data_dir / "logs" / "nats.log",
            passwords=self.passwords,
        )
        self.nats_port = port
        users = "per-service users (deploy/nats/permissions.conf)" if self.passwords else "no auth"
        self.say(
            f"NATS       embedded nats-server 2.15 (JetStream) at nats://127.0.0.1:{port}, "
            f"{users}, pid {self.nats.pid}"
        )
        if self.passwords:  # tools and operators connect as the operator user
            return natsserver.url_for(port, "operator", self.passwords["operator"])
        return natsserver.url_for(port)

    def nats_location(self, nats_url: str) -> dict[str, str]:
        """For run.json: the embedded server's address and the operator user, never a password."""
        if not self.passwords:
            return {"nats_url": nats_url}
        return {"nats_url": natsserver.url_for(self.nats_port), "nats_user": "operator"}

    def provision(self, nats_url: str) -> None:
        """Streams and the lease bucket, as the operator, before any service starts."""
        from events.subjects import Subjects
        from plumbing.messaging.host import connect
        from plumbing.messaging.streams import provision

        partitions = int(os.environ.get("LANTERN_PARTITIONS", "4"))
        replicas = int(os.environ.get("LANTERN_STREAM_REPLICAS", "1"))

        async def apply() -> list[str]:
            nc = await connect(nats_url)
            try:
                subjects = Subjects(self.prefix, partitions)
                return await provision(nc.jetstream(), subjects, replicas)
            finally:
                await nc.close()

        changed = asyncio.run(apply())
        self.say(f"streams    {len(changed)} change(s): {'; '.join(changed) or 'up to date'}")

    def prepare_keys(self) -> None:
        """The token keys and store key, before any service starts.

        In development mode the supervisor is the issuer: it makes an Ed25519
        key pair once under the data dir (``issuer.key``, 0600, and
        ``jwks.json`` beside it) and a store key (``cipher.key``).  Services
        are given the JWKS path only; the console, which signs its users'
        tokens, also the signing key's path.  Outside development mode
        ``LANTERN_JWKS`` and ``LANTERN_CIPHER_KEY`` must be configured, and a
        missing one stops ``up`` here, before anything runs.

        The services that act on their own account (``auth.DELEGATIONS``) get
        a delegation token: signed here when the supervisor holds a key, else
        taken from ``LANTERN_<SERVICE>_SERVICE_TOKEN``.  The demo is seeded as
        the district administrator ``demo-seed``.
        """
        from plumbing.access import auth, keys, trust
        from plumbing.integrity.chainer import IntegrityKeyMissing
        from plumbing.secretfiles import SecretExposed, refuse_unsafe
        from plumbing.settings import Settings
        from plumbing.store.select import cipher_key

        settings = Settings.from_env("supervisor", data_dir=self.data_dir)
        try:
            refuse_unsafe(settings)
        except (IntegrityKeyMissing, SecretExposed) as exc:
            raise SystemExit(f"lantern up refused: {exc}") from None
        if settings.dev_mode and not settings.jwks:
            private, jwks = keys.dev_keys(self.data_dir)
            self.token_env = {"LANTERN_JWKS": str(jwks)}
            self.signing_key = str(private)
        elif settings.jwks:
            self.token_env = {"LANTERN_JWKS": settings.jwks}
            self.signing_key = settings.signing_key
        else:
            raise SystemExit(
                "lantern up refused: LANTERN_JWKS is required outside development mode"
            )
        if not cipher_key(settings):
            raise SystemExit(
                "lantern up refused: LANTERN_CIPHER_KEY is required outside development mode"
            )
        try:
            signer = trust.issuer(
                Settings.from_env(
                    "supervisor", data_dir=self.data_dir, signing_key=self.signing_key or None
                )
            )
        except keys.KeyFileError as exc:
            raise SystemExit(f"lantern up refused: {exc}") from None
        for service in auth.DELEGATIONS:
            given = os.environ.get(f"LANTERN_{service.upper()}_SERVICE_TOKEN", "")
            if signer is not None and not given:
                given = signer.delegation(service, DELEGATION_TTL)
            self.service_tokens[service] = given
        if signer is not None:
            use_token(signer.issue(subject="demo-seed", role=auth.Role.ADMIN))
        mode = "development (made under the data dir)" if self.signing_key else "configured"
        self.say(f"keys       token keys (public JWKS to services) and store key: {mode}")
        if settings.dev_mode:
            self.say("mode       development (asked for): public integrity key, no file checks")

    def start_services(self, nats_url: str) -> dict[str, str]:
        urls: dict[str, str] = {}
        env = dict(os.environ)
        env.setdefault("LANTERN_PREFIX", self.prefix)
        env.update(self.store.env())
        for name in SERVICES:
            port = natsserver.free_port()
            argv = [
                sys.executable,
                "-m",
                "lantern.cli",
                "serve",
                name,
                "--data-dir",
                str(self.data_dir),
                "--http-port",
                str(port),
            ]
            child_env = {k: v for k, v in env.items() if k != "LANTERN_SIGNING_KEY"}
            child_env.update(self.token_env)
            if name == "console" and self.signing_key:  # the console is an issuer
                child_env["LANTERN_SIGNING_KEY"] = self.signing_key
            if self.service_tokens.get(name):
                child_env["LANTERN_SERVICE_TOKEN"] = self.service_tokens[name]
            if name == "console" and self.demo:
                child_env["LANTERN_CONSOLE_DEMO"] = "1"  # the labelled "sign in as" page
            if self.passwords:  # each service connects as its own user (kept out of argv)
                child_env["LANTERN_NATS_URL"] = natsserver.url_for(
                    self.nats_port, name, self.passwords[name]
                )
            else:
                argv += ["--nats-url", nats_url]
            if self.config:
                argv += ["--config", str(self.config.resolve())]
            child = Child(
                name,
                argv,
                self.data_dir / "logs" / f"{name}.log",
                child_env,
                niceness=BACKGROUND_NICENESS.get(name, 0),
            )
            child.start()
            self.children.append(child)
            urls[name] = f"http://127.0.0.1:{port}"
        for name, url in urls.items():
            self.wait_healthy(name, url)
            pid = next(c.proc.pid for c in self.children if c.name == name and c.proc)
            self.say(
                f"{name:<10} {url}  (pid {pid}, log {self.data_dir / 'logs' / (name + '.log')})"
            )
        return urls

    def wait_healthy(self, name: str, url: str, timeout: float = 30.0) -> None:
        """Poll ``/health`` every 0.1 s until it answers; after ``timeout``, give up naming it."""
        polling = Retrying(
            retry=retry_if_exception_type(Unreachable),
            wait=wait_fixed(0.1),
            stop=stop_after_delay(timeout),
        )
        try:
            polling(request, "GET", f"{url}/health", timeout=1.0)
        except RetryError:
            raise RuntimeError(
                f"{name} did not become healthy at {url} within {timeout:.0f} s"
            ) from None

    def run(self) -> int:
        """Run until a signal; raises ``lantern.lock.Locked`` if another holds the data dir."""
        lock = DataDirLock(self.data_dir, "lantern up").acquire()
        try:
            if lock.stale is not None:
                self.say(f"lock       replaced a stale lock ({lock.stale.describe()}: not running)")
            return self._run()
        finally:
            lock.release()

    def _run(self) -> int:
        if self.dev:  # asked for: this process, every service and the seeding share it
            os.environ["LANTERN_DEV_MODE"] = "1"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self.store.prepare()  # before anything starts: a missing schema is created here
            self.store.save(self.data_dir)
            self.say(f"store      {self.store.describe()}")
            self.prepare_keys()  # refuses unsafe secrets before anything starts
            nats_url = self.start_nats()
            self.provision(nats_url)
            urls = self.start_services(nats_url)
            if self.demo:
                counts = demo.seed(urls["intake"], urls["dispatch"])
                self.say(
                    f"demo       seeded {counts['schools']} schools and "
                    f"{counts['responders']} responders (synthetic)"
                )
            runfile.write(
                self.data_dir,
                {
                    **self.nats_location(nats_url),
                    "http_url": urls["console"],
                    "services": urls,
                    "prefix": self.prefix,
                    "data_dir": str(self.data_dir.resolve()),
                    "supervisor_pid": os.getpid(),
                    "dev_mode": asked_for_dev_mode(os.environ),
                },
            )
            self.say(f"console    open {urls['console']} in a browser (the Lantern console)")
            self.say(f"ready      `lantern info --json` reads {self.data_dir / runfile.RUNFILE}")
            self.say("           Ctrl-C stops everything.")
            self.watch()
        finally:
            self.shutdown()
        return 0

    def watch(self) -> None:
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None and not self.stopping:
                    code = child.proc.returncode
                    child.restarts += 1
                    delay = min(30.0, 0.5 * 2 ** min(child.restarts, 6))
                    child.next_start = now + delay
                    child.proc = None
                    self.say(f"{child.name:<10} exited with {code}; restarting in {delay:.1f} s")
                if child.proc is None and not self.stopping and now >= child.next_start:
                    child.start()
            time.sleep(0.2)

    def _on_signal(self, signum: int, _: Any) -> None:
        self.stopping = True

    def shutdown(self) -> None:
        self.stopping = True
        for child in reversed(self.children):
            child.stop()
        if self.nats is not None and self.nats.poll() is None:
            self.nats.terminate()
            try:
                self.nats.wait(10)
            except subprocess.TimeoutExpired:
                self.nats.kill()
        runfile.remove(self.data_dir)
        self.say("stopped")
