"""Which store a ``lantern up`` runs on, made ready before any service starts, and remembered.

``lantern up --store postgres --postgres-dsn DSN [--postgres-schema NAME]``
creates the schema itself (each service then creates its tables), so an
empty database is enough.  The choice is kept in ``<data dir>/store.json``
(mode 0600: a DSN may hold a password) for the commands that read the stores
of a stopped system, ``lantern audit verify`` first of all.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STORE_FILE = "store.json"
#: How long to wait for PostgreSQL before saying it is unreachable.
CONNECT_TIMEOUT_S = 4


class StoreUnreachable(Exception):
    pass


@dataclass(frozen=True)
class StoreChoice:
    store: str = "sqlite"  # sqlite | postgres
    postgres_dsn: str = ""
    postgres_schema: str = ""

    @classmethod
    def from_env(cls) -> StoreChoice:
        dsn = os.environ.get("LANTERN_POSTGRES_DSN", "")
        return cls(
            store=os.environ.get("LANTERN_STORE", "postgres" if dsn else "sqlite"),
            postgres_dsn=dsn,
            postgres_schema=os.environ.get("LANTERN_POSTGRES_SCHEMA", ""),
        )

    def env(self) -> dict[str, str]:
        """What each service process is given (the DSN travels in the environment, not argv)."""
        if self.store != "postgres":
            return {"LANTERN_STORE": self.store}
        return {
            "LANTERN_STORE": "postgres",
            "LANTERN_POSTGRES_DSN": self.postgres_dsn,
            "LANTERN_POSTGRES_SCHEMA": self.postgres_schema,
        }

    def describe(self) -> str:
        if self.store != "postgres":
            return self.store
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(self.postgres_dsn)
        where = f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname')}"
        return f"postgres {where}, schema {self.postgres_schema or 'public'}"

    def prepare(self) -> None:
        """Create the PostgreSQL schema if it is missing; fail fast when the server is not there."""
        if self.store != "postgres":
            return
        import psycopg
        from psycopg import sql

        if not self.postgres_dsn:
            raise StoreUnreachable(
                "--store postgres needs --postgres-dsn (or LANTERN_POSTGRES_DSN)"
            )
        try:
            with psycopg.connect(
                self.postgres_dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            ) as db:
                if self.postgres_schema:
                    db.execute(
                        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                            sql.Identifier(self.postgres_schema)
                        )
                    )
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreUnreachable(f"PostgreSQL ({self.describe()}): {first}") from None

    def save(self, data_dir: Path) -> None:
        path = data_dir / STORE_FILE
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, data_dir: Path) -> StoreChoice | None:
        """What the last ``up`` on this data dir ran on (None: never recorded)."""
        try:
            data = json.loads((data_dir / STORE_FILE).read_text())
        except (OSError, ValueError):
            return None
        return cls(**{k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__})
