"""One-statement reads without a transaction around them, on PostgreSQL.

A read-only unit of work that runs a single statement needs no BEGIN and ROLLBACK: one statement
sees one snapshot by itself. Those two round trips cost more than a lookup by key (an API
token, an audit proof's nodes), so such reads run in autocommit when they are the first of their
unit of work. Anywhere else (SQLite, a writing unit of work, a transaction already under way)
the statement runs in the unit's transaction as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
import sqlalchemy as sa

_IDLE = psycopg.pq.TransactionStatus.IDLE


@contextmanager
def statement_snapshot(conn: sa.Connection) -> Iterator[None]:
    """Run what is inside (one statement) outside a transaction where that is safe."""
    driver = pg_driver(conn) if conn.dialect.name == "postgresql" else None
    untouched = (
        driver is not None
        and bool(conn.get_execution_options().get("readonly"))
        and not driver.autocommit
        and driver.info.transaction_status == _IDLE
    )
    if not untouched or driver is None:
        yield
        return
    driver.autocommit = True  # as SQLAlchemy's own ping does; restored below
    try:
        yield
    finally:
        if not driver.closed:
            driver.autocommit = False


def pg_driver(conn: sa.Connection) -> psycopg.Connection[Any]:
    """psycopg's own connection (e.g. for its binary protocol, which gives bytea as bytes)."""
    driver = conn.connection.driver_connection
    if driver is None:  # pragma: no cover  # a connection in use is never detached
        raise RuntimeError("the database connection is closed")
    return cast("psycopg.Connection[Any]", driver)
