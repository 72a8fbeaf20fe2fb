"""Engines for SQLite (WAL, single writer) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

SQLITE_BUSY_TIMEOUT_MS = 30_000

# A pooled PostgreSQL connection is pinged before reuse only when it has sat idle this long.
# Pinging every checkout (`pool_pre_ping`) costs a round trip per unit of work: under load,
# about a fifth of a served audit proof. A busy connection that dies mid-use is caught by the
# disconnect handling instead: SQLAlchemy invalidates the pool and the API answers 503.
PING_AFTER_IDLE_S = 2.0


def make_engine(
    url: str, *, pool_size: int = 10, ping_after_idle_s: float = PING_AFTER_IDLE_S
) -> sa.Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return _postgres_engine(url, pool_size, ping_after_idle_s)


def database_answers(engine: sa.Engine) -> None:
    """One round trip through the pool; raises the driver's error (OperationalError) if not."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1").scalar_one()


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _postgres_engine(url: str, pool_size: int, ping_after_idle_s: float) -> sa.Engine:
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < ping_after_idle_s:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise sa.exc.DisconnectionError(f"stale pooled connection: {exc}") from exc

    return engine


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below issue BEGIN itself.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # The single-writer equivalent of row locks: a writing transaction takes the write
        # lock up front, so read-then-write races cannot interleave.
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
