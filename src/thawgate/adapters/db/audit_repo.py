"""The audit log's append path: a gap-free sequence from a locked head row, and the Merkle tree
grown in the same transaction.

Each append hashes the event (API.md: `SHA-256(0x00 || JCS(event))`) from the very values it
inserts, stores `data` as that JCS text, and inserts the leaf and every subtree it completes.
The head row is locked by the first append of a transaction (FOR UPDATE on PostgreSQL; SQLite's
writer lock is taken at BEGIN), so the sequence number and the tree's right edge read then stay
this transaction's until it ends, and later appends in it use them without reading again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.audit_tree import AuditTree
from thawgate.adapters.db.tables import audit_events, audit_head
from thawgate.domain import merkle
from thawgate.domain.audit_event import (
    canonical_at,
    canonical_json,
    check_text,
    event_leaf_hash,
    normalized_data,
)

_SQLITE_EVENTS = (
    "INSERT INTO audit_events (seq, at, actor, action, subject, data) VALUES (?, ?, ?, ?, ?, ?)"
)
# PostgreSQL: the events, their nodes and the head in one statement, so one round trip.
_PG_APPEND = """
WITH events AS (
    INSERT INTO audit_events (seq, at, actor, action, subject, data)
    SELECT seq, at, actor, action, subject, CAST(data AS JSON)
    FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::text[])
        AS e(seq, at, actor, action, subject, data)
), nodes AS (
    INSERT INTO audit_nodes (level, position, hash)
    SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])
)
UPDATE audit_head SET next_seq = %s WHERE id = 1
"""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewAuditEvent:
    at: datetime
    actor: str
    action: str
    subject: str
    data: Mapping[str, object]


@dataclass(slots=True)
class _Head:
    transaction: sa.Transaction
    frontier: merkle.Frontier


class AuditRepository:
    def __init__(self, conn: sa.Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows
        self.tree = AuditTree(conn)
        self._head: _Head | None = None
        self._deferred: list[NewAuditEvent] | None = None

    def defer(self) -> None:
        """Hold this transaction's appends until `flush` (the unit of work's commit).

        The appender locks the log's head row from its first write to the commit: deferring the
        writes to the end keeps that window short, so concurrent workers overlap their other
        work. Each event is still checked as it is appended.
        """
        if self._deferred is None:
            self._deferred = []

    def flush(self) -> None:
        pending, self._deferred = self._deferred, None
        if pending:
            self.append_many(pending)

    def append(
        self, *, at: datetime, actor: str, action: str, subject: str, data: dict[str, Any]
    ) -> int:
        """Append one event; returns its sequence number, or -1 while appends are deferred."""
        event = NewAuditEvent(at, actor, action, subject, data)
        if self._deferred is not None:
            _prepared(event)  # refuse an unhashable event now, not at commit
            self._deferred.append(event)
            return -1
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[NewAuditEvent]) -> list[int]:
        """Append events in order, in this transaction. Returns their sequence numbers."""
        prepared = [_prepared(e) for e in events]  # refuses unhashable events before any write
        head = self._locked_head()
        sqlite = self.conn.dialect.name == "sqlite"
        seqs: list[int] = []
        rows: list[tuple[object, ...]] = []
        nodes: list[merkle.Node] = []
        for event, at_text, data_text in prepared:
            seq = head.frontier.size
            leaf = event_leaf_hash(
                seq, at_text, event.actor, event.action, event.subject, data_text
            )
            at = _sqlite_at(event.at) if sqlite else event.at
            seqs.append(seq)
            rows.append((seq, at, event.actor, event.action, event.subject, data_text))
            nodes.extend(head.frontier.append(leaf))
        try:
            self._write(rows, nodes, head.frontier.size)
        except BaseException:
            self._head = None  # the transaction is failing: nothing cached survives it
            raise
        return seqs

    def _write(self, rows: list[tuple[object, ...]], nodes: list[merkle.Node], size: int) -> None:
        """Plain SQL: SQLAlchemy's statement handling cost more than the rest of an append.
        `at` and `data` are written as the columns' types write them (see _sqlite_at)."""
        if not rows:
            return
        if self.conn.dialect.name == "postgresql":
            event_columns = [list(column) for column in zip(*rows, strict=True)]
            node_columns = [list(column) for column in zip(*nodes, strict=True)]
            self.conn.exec_driver_sql(_PG_APPEND, (*event_columns, *node_columns, size))
            return
        self.conn.exec_driver_sql(_SQLITE_EVENTS, rows)
        self.tree.add_nodes(nodes)
        self.conn.exec_driver_sql("UPDATE audit_head SET next_seq = ? WHERE id = 1", (size,))

    def _locked_head(self) -> _Head:
        transaction = self.conn.get_transaction()
        if transaction is None:
            raise RuntimeError("audit events are appended inside a transaction")
        if self._head is not None and self._head.transaction is transaction:
            return self._head
        q = sa.select(audit_head.c.next_seq).where(audit_head.c.id == 1)
        if self.lock_rows:
            q = q.with_for_update()
        size = int(self.conn.execute(q).scalar_one())
        self._head = _Head(transaction, self.tree.frontier(size))
        return self._head

    def list(
        self, *, from_seq: int = 0, limit: int = 100, subject: str | None = None
    ) -> list[AuditEvent]:
        q = sa.select(audit_events).where(audit_events.c.seq >= from_seq)
        if subject is not None:
            q = q.where(audit_events.c.subject == subject)
        rows = self.conn.execute(q.order_by(audit_events.c.seq).limit(limit))
        return [AuditEvent(r.seq, r.at, r.actor, r.action, r.subject, dict(r.data)) for r in rows]

    def size(self) -> int:
        return int(self.conn.execute(sa.select(audit_head.c.next_seq)).scalar_one())


def _prepared(event: NewAuditEvent) -> tuple[NewAuditEvent, str, str]:
    """The event with its text checked, its canonical `at`, and the JCS text of its `data`."""
    for where in ("actor", "action", "subject"):
        check_text(getattr(event, where), where)
    return event, canonical_at(event.at), canonical_json(normalized_data(event.data))


def _sqlite_at(at: datetime) -> str:
    """What UtcDateTime writes on SQLite (SQLAlchemy's DATETIME storage format, in UTC)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
