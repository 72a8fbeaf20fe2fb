"""The audit log's stored Merkle tree and checkpoints, and the event reader that verification
and export stream through.

The tree is a table of complete subtrees, keyed by (level, position): a root or a proof reads
O(log n) rows by primary key. Rows are only ever inserted, like the events themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from thawgate.adapters.db.snapshot import pg_driver, statement_snapshot
from thawgate.adapters.db.tables import audit_checkpoints, audit_events, audit_head, audit_nodes
from thawgate.domain import merkle
from thawgate.domain.audit_event import canonical_at, canonical_event, canonical_json
from thawgate.domain.checkpoint import SignedCheckpoint

NODES_PER_QUERY = 200  # bound parameters stay well under SQLite's limit


# An event as verification and export see it: (seq, its JCS bytes, their leaf hash, the stored
# leaf hash at position seq). A plain tuple: a named one costs more to build than the hashing.
StoredEvent: TypeAlias = tuple[int, bytes, bytes, bytes | None]


@dataclass(frozen=True, slots=True)
class NodeRuns:
    """Stored tree nodes by level: `runs[level] = (first position, hashes)`, the level's nodes at
    consecutive positions from `first`, their 32-byte hashes end to end."""

    runs: dict[int, tuple[int, bytes]]

    def matches(self, nodes: dict[merkle.NodeKey, bytes]) -> bool:
        """Exactly these nodes, no more, no fewer? `nodes` must hold each level's positions in
        ascending order, as the verifier completes them."""
        levels: dict[int, list[bytes]] = {}
        firsts: dict[int, int] = {}
        for (level, position), h in nodes.items():
            hashes = levels.get(level)
            if hashes is None:
                hashes = levels[level] = []
                firsts[level] = position
            elif position != firsts[level] + len(hashes):
                return False
            hashes.append(h)
        return levels.keys() == self.runs.keys() and all(
            self.runs[level] == (firsts[level], b"".join(hashes))
            for level, hashes in levels.items()
        )

    def nodes(self) -> dict[merkle.NodeKey, bytes]:
        return {
            (level, first + i // 32): hashes[i : i + 32]
            for level, (first, hashes) in self.runs.items()
            for i in range(0, len(hashes), 32)
        }


class AuditTree:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # -- nodes --------------------------------------------------------------------------------

    def nodes(self, keys: Iterable[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        """Nodes by primary key, in plain SQL: building and compiling the statement with
        SQLAlchemy costs 20 times the lookup, and a proof should take well under a millisecond.
        (An OR of key lookups, not a row-value IN list, which SQLite answers with a scan.)"""
        wanted = sorted(set(keys))
        found: dict[merkle.NodeKey, bytes] = {}
        for i in range(0, len(wanted), NODES_PER_QUERY):
            chunk = wanted[i : i + NODES_PER_QUERY]
            query = _NODES_BY_KEY + " OR ".join([_KEY] * len(chunk))
            params = tuple(x for key in chunk for x in key)
            rows = self.conn.exec_driver_sql(sql(self.conn, query), params)
            found.update({(lv, p): bytes(h) for lv, p, h in rows})
        return found

    def require(self, keys: Iterable[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        """The nodes, all of them, or LookupError naming the first one missing."""
        wanted = set(keys)
        found = self.nodes(wanted)
        missing = sorted(wanted - found.keys())
        if missing:
            raise LookupError(f"the stored audit tree lacks node {missing[0]}")
        return found

    def inclusion_read(
        self, seq: int, size: int | None
    ) -> tuple[int, int, dict[merkle.NodeKey, bytes]]:
        """What an inclusion proof of leaf `seq` reads: the log's size (its head), the tree size
        to prove against (`size`; by default the latest checkpoint's, else the head's), and the
        stored nodes the proof needs at that size (all of them, when the size is valid).

        On PostgreSQL this is one statement, which reads the siblings of the leaf's ancestors and
        the tree's right edge at that size, a superset of any proof's nodes; in a read-only unit
        of work it runs without BEGIN and ROLLBACK (adapters/db/snapshot.py), round trips that
        cost more than the proof itself."""
        if self.conn.dialect.name == "postgresql":
            return self._pg_inclusion_read(seq, size)
        head = int(self.conn.execute(sa.select(audit_head.c.next_seq)).scalar_one())
        if size is None:
            latest = self.conn.execute(sa.select(sa.func.max(audit_checkpoints.c.size))).scalar()
            size = head if latest is None else int(latest)
        nodes = {}
        if 0 <= seq < size <= head:
            nodes = self.nodes(merkle.nodes_for(merkle.inclusion_ranges(seq, size)))
        return head, size, nodes

    def _pg_inclusion_read(
        self, seq: int, size: int | None
    ) -> tuple[int, int, dict[merkle.NodeKey, bytes]]:
        with statement_snapshot(self.conn):
            cursor = pg_driver(self.conn).cursor(binary=True)
            try:
                rows = cursor.execute(_PG_INCLUSION_SQL, (size, seq)).fetchall()
            finally:
                cursor.close()
        head, tree_size = int(rows[0][0]), int(rows[0][1])
        nodes = {(lv, p): h for _, _, lv, p, h in rows if lv is not None}
        return head, tree_size, nodes

    def frontier(self, size: int) -> merkle.Frontier:
        keys = merkle.Frontier.keys(size)
        found = self.require(keys)
        return merkle.Frontier(size, [found[k] for k in keys])

    def add_nodes(self, rows: Sequence[merkle.Node]) -> None:
        if rows:
            self.conn.exec_driver_sql(sql(self.conn, _NODES_INSERT), list(rows))

    def leaves(self, start: int, end: int) -> dict[int, bytes]:
        """Stored leaf hashes by position, for positions in [start, end)."""
        q = sa.select(audit_nodes.c.position, audit_nodes.c.hash).where(
            audit_nodes.c.level == 0, audit_nodes.c.position >= start, audit_nodes.c.position < end
        )
        return {int(p): bytes(h) for p, h in self.conn.execute(q)}

    def interior_runs_completed(self, start: int, end: int) -> NodeRuns | None:
        """`interior_nodes_completed`, as one string of hashes per level, when each level's
        stored nodes sit at consecutive positions (always, in an intact log), on PostgreSQL;
        otherwise None. Cheaper to read and to compare than a million rows."""
        if self.conn.dialect.name != "postgresql":
            return None
        runs: dict[int, tuple[int, bytes]] = {}
        cursor = pg_driver(self.conn).cursor(binary=True)
        try:
            level = 1
            while (1 << level) <= end:
                cursor.execute(_PG_RUN_SQL, (level, start >> level, (end >> level) - 1))
                row: Any = cursor.fetchone()  # an aggregate: always one row
                first, last, count, hashes = row
                if count:
                    if last - first + 1 != count:
                        return None
                    runs[level] = (first, bytes(hashes))
                level += 1
        finally:
            cursor.close()
        return NodeRuns(runs)

    def interior_nodes_completed(self, start: int, end: int) -> dict[merkle.NodeKey, bytes]:
        """Stored nodes above the leaves whose last leaf lies in [start, end)."""
        found: dict[merkle.NodeKey, bytes] = {}
        query = sql(self.conn, _NODES_IN_RANGE)
        cursor = self.conn.connection.cursor()  # plain DB-API: a million rows in a full verify
        try:
            level = 1
            while (1 << level) <= end:
                # the last leaf of (level, p) is (p + 1) * 2**level - 1: within [start, end)
                cursor.execute(query, (level, start >> level, (end >> level) - 1))
                found.update({(level, p): bytes(h) for p, h in cursor.fetchall()})
                level += 1
        finally:
            cursor.close()
        return found

    def nodes_beyond(self, size: int) -> list[merkle.NodeKey]:
        """Stored nodes that reach past the first `size` leaves: none, in an intact log."""
        q = sa.select(audit_nodes.c.level, sa.func.max(audit_nodes.c.position)).group_by(
            audit_nodes.c.level
        )
        return [
            (level, top)
            for level, top in self.conn.execute(q)
            if top is not None and top >= size >> level
        ]

    # -- checkpoints --------------------------------------------------------------------------

    def checkpoints(self) -> list[SignedCheckpoint]:
        rows = self.conn.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.size))
        return [_checkpoint(r) for r in rows]

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        q = sa.select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)
        row = self.conn.execute(q).first()
        return None if row is None else _checkpoint(row)

    def checkpoint(self, size: int) -> SignedCheckpoint | None:
        q = sa.select(audit_checkpoints).where(audit_checkpoints.c.size == size)
        row = self.conn.execute(q).first()
        return None if row is None else _checkpoint(row)

    def add_checkpoint(self, cp: SignedCheckpoint) -> bool:
        """Insert unless a checkpoint of that size exists. True if this one was stored."""
        values = {
            "size": cp.size,
            "origin": cp.origin,
            "root_hash": cp.root_hash,
            "key_id": cp.key_id,
            "signature": cp.signature,
            "note": cp.note,
            "at": cp.at,
        }
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            stmt: Any = postgresql.insert(audit_checkpoints).values(values)
        elif dialect == "sqlite":
            stmt = sqlite.insert(audit_checkpoints).values(values)
        else:  # pragma: no cover  # SQLite and PostgreSQL are the two supported databases
            raise RuntimeError(f"unsupported database {dialect}")
        result = self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["size"]))
        return bool(result.rowcount)

    # -- events -------------------------------------------------------------------------------

    def count_events(self) -> int:
        return int(
            self.conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one()
        )

    def stored_events(self, start: int, end: int) -> list[StoredEvent]:
        """Events with start <= seq < end, in order, as verification and export read them."""
        if self.conn.dialect.name == "sqlite":
            return _sqlite_events(self.conn, start, end)
        return _postgres_events(self.conn, start, end)

    def last_seq(self) -> int | None:
        """The highest stored sequence number (None for no event)."""
        top = self.conn.execute(sa.select(sa.func.max(audit_events.c.seq))).scalar()
        return None if top is None else int(top)

    def iter_stored_events(self, *, batch: int = 20_000) -> Iterator[list[StoredEvent]]:
        """Every stored event in batches, by sequence number (gaps and all)."""
        start = 0
        top = self.last_seq()
        while top is not None and start <= top:
            yield self.stored_events(start, start + batch)
            start += batch


def sql(conn: sa.Connection, text: str) -> str:
    """Plain SQL written with `?` markers, in the driver's own style (`%s` for psycopg)."""
    return text if conn.dialect.paramstyle == "qmark" else text.replace("?", "%s")


# The head, the tree size to prove against, and the nodes an inclusion proof of a leaf can
# need in a tree of that size: the siblings of the leaf's ancestors, (level, (seq >> level) xor 1),
# that lie within the tree, and the complete subtrees along its right edge, one per bit set in
# its size.
_PG_INCLUSION_SQL = """
WITH s AS (
    SELECT next_seq AS head,
        coalesce(%s::bigint, (SELECT max(size) FROM audit_checkpoints), next_seq) AS size
    FROM audit_head WHERE id = 1
), k AS (
    SELECT level, position FROM s, generate_series(0, 62) AS level,
        LATERAL (SELECT (%s::bigint >> level) # 1 AS position) AS sibling
    WHERE (position + 1) << level <= s.size
    UNION
    SELECT level, (s.size >> level) - 1 FROM s, generate_series(0, 62) AS level
    WHERE (s.size >> level) & 1 = 1
)
SELECT s.head, s.size, n.level, n.position, n.hash
FROM s LEFT JOIN (k JOIN audit_nodes n ON n.level = k.level AND n.position = k.position) ON true
"""
_PG_RUN_SQL = (
    "SELECT min(position), max(position), count(*), string_agg(hash, ''::bytea ORDER BY position) "
    "FROM audit_nodes WHERE level = %s AND position BETWEEN %s AND %s"
)
_NODES_BY_KEY = "SELECT level, position, hash FROM audit_nodes WHERE "
_KEY = "(level = ? AND position = ?)"
_NODES_INSERT = "INSERT INTO audit_nodes (level, position, hash) VALUES (?, ?, ?)"
_NODES_IN_RANGE = (
    "SELECT position, hash FROM audit_nodes WHERE level = ? AND position BETWEEN ? AND ?"
)


def _checkpoint(row: sa.Row[Any]) -> SignedCheckpoint:
    return SignedCheckpoint(
        origin=row.origin,
        size=int(row.size),
        root_hash=bytes(row.root_hash),
        key_id=row.key_id,
        signature=bytes(row.signature),
        note=row.note,
        at=row.at,
    )


_EVENTS_SQL = (
    "SELECT e.seq, e.at, e.actor, e.action, e.subject, e.data, n.hash FROM audit_events e "
    "LEFT JOIN audit_nodes n ON n.level = 0 AND n.position = e.seq "
    "WHERE e.seq >= ? AND e.seq < ? ORDER BY e.seq"
)
# PostgreSQL splices each event's JCS bytes itself, from `data` as stored (a `json` column keeps
# its text verbatim: migration 0005), `at` in its canonical form and the strings JSON-encoded
# (`to_json` escapes exactly what JCS escapes), and sends them as bytea over the binary protocol:
# psycopg parses nothing, and that work runs on the server's core while this one hashes. The
# stored leaves come as one string of 32-byte hashes in position order; read apart (joined,
# PostgreSQL's planner hashes the whole node table for each batch).
_PG_EVENTS_SQL = """
SELECT seq, convert_to(concat(
    '{"action":', to_json(action), ',"actor":', to_json(actor),
    ',"at":"', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    '","data":', data, ',"seq":', seq, ',"subject":', to_json(subject), '}'), 'UTF8')
FROM audit_events WHERE seq >= %s AND seq < %s ORDER BY seq
"""
_PG_LEAF_STRING_SQL = (
    "SELECT string_agg(hash, ''::bytea ORDER BY position) FROM audit_nodes "
    "WHERE level = 0 AND position >= %s AND position < %s"
)
_PG_LEAVES_SQL = (
    "SELECT position, hash FROM audit_nodes WHERE level = 0 AND position >= %s AND position < %s"
)


def _sqlite_events(conn: sa.Connection, start: int, end: int) -> list[StoredEvent]:
    """The fast path on SQLite: `data` is the JCS text it was hashed from, and `at` is kept as
    `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, so the event's bytes are spliced, not re-serialized.

    A row whose bytes do not give the stored leaf (rows written before migration 0003 as
    SQLAlchemy's JSON text, tampered rows) has its `data` parsed and canonicalized instead, so a
    value stored in another spelling still yields the leaf it was signed as, and anything else
    yields a leaf that differs from the stored or the signed one, and is reported. Bytes that do
    give the stored leaf are the bytes that were appended (canonical: `append_many` writes only
    JCS) unless SHA-256 collides, or unless the stored leaf was rewritten too: then the signed
    checkpoints, which vouch for the appended bytes, disagree.
    """
    rows = _fetch(conn, _EVENTS_SQL, start, end)
    out: list[StoredEvent] = []
    append, event = out.append, canonical_event
    for seq, at, actor, action, subject, data, stored in rows:
        stock = len(at) == 26 and at[10] == " " and at[19] == "."  # as SQLAlchemy writes it
        when = f"{at[:10]}T{at[11:]}Z" if stock else _parsed_at(at)
        fast = event(seq, when, actor, action, subject, data)
        leaf = sha256(b"\x00" + fast).digest()  # merkle.leaf_hash, inlined in this hot loop
        if leaf != stored:
            fast = event(seq, when, actor, action, subject, _recanonical(data))
            leaf = merkle.leaf_hash(fast)
        append((seq, fast, leaf, stored))
    return out


def _postgres_events(conn: sa.Connection, start: int, end: int) -> list[StoredEvent]:
    cursor = pg_driver(conn).cursor(binary=True)  # bytea as raw bytes
    try:
        rows = cursor.execute(_PG_EVENTS_SQL, (start, end)).fetchall()
        (leaf_string,) = cursor.execute(_PG_LEAF_STRING_SQL, (start, end)).fetchone() or (None,)
    finally:
        cursor.close()
    leaves = [sha256(b"\x00" + body).digest() for _, body in rows]
    contiguous = bool(rows) and rows[0][0] == start and rows[-1][0] == start + len(rows) - 1
    if contiguous and leaf_string == b"".join(leaves):
        # every event hashes to the stored leaf at its position: nothing left to compare
        return [(seq, body, leaf, leaf) for (seq, body), leaf in zip(rows, leaves, strict=True)]
    stored_leaf = dict(_fetch(conn, _PG_LEAVES_SQL, start, end)).get
    out: list[StoredEvent] = []
    for (seq, body), leaf in zip(rows, leaves, strict=True):
        stored = stored_leaf(seq)
        stored = None if stored is None else bytes(stored)
        if leaf != stored:
            body = _recanonical_event(seq, body)
            leaf = merkle.leaf_hash(body)
        out.append((seq, body, leaf, stored))
    return out


def _recanonical_event(seq: int, body: bytes) -> bytes:
    """The event's bytes with its `data` in canonical form (see `_sqlite_events`)."""
    try:
        event = json.loads(body)
        return canonical_event(
            seq,
            event["at"],
            event["actor"],
            event["action"],
            event["subject"],
            canonical_json(event["data"]),
        )
    except (ValueError, KeyError, TypeError):
        return body  # hashed as it stands, and so reported


def _fetch(conn: sa.Connection, query: str, start: int, end: int) -> Sequence[Any]:
    cursor = conn.connection.cursor()  # plain DB-API: a million rows in a full verify
    try:
        cursor.execute(query, (start, end))
        return cursor.fetchall()
    finally:
        cursor.close()


def _parsed_at(stored: str) -> str:
    moment = datetime.fromisoformat(stored)
    return canonical_at(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _recanonical(text: str) -> str:
    try:
        return canonical_json(json.loads(text))
    except ValueError:
        return text  # not JSON at all: hashed as it stands, and so reported
