"""A nats-server of the test's own (the 2.15 wheel), for tests that stop or kill NATS."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lantern import natsserver


@dataclass
class OwnNats:
    directory: Path
    port: int = field(default_factory=natsserver.free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = natsserver.start(
            port=self.port,
            store_dir=self.directory / "jetstream",
            log_file=self.directory / "nats.log",
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
