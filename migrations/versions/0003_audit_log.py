"""audit log: Merkle tree nodes and signed checkpoints

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:10:00.000000

Both tables are append-only, by the same triggers as audit_events. Events written before this
revision get their tree here: their leaves are hashed from the stored values, exactly as
`thawgate audit verify` recomputes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import thawgate.adapters.db.tables
from thawgate.adapters.db.tables import audit_events, audit_nodes
from thawgate.domain import merkle
from thawgate.domain.audit_event import canonical_at, canonical_json, event_leaf_hash

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_nodes", "audit_checkpoints")
BACKFILL_BATCH = 5_000


def upgrade() -> None:
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "position", name=op.f("pk_audit_nodes")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column(
            "size",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("origin", sa.String(length=256), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", thawgate.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_checkpoints")),
    )
    _backfill_tree()
    for table in APPEND_ONLY:
        _append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        _drop_append_only(table)
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_nodes")


def _backfill_tree() -> None:
    """Hash the events already stored, in order, and store every node of their tree."""
    conn = op.get_bind()
    frontier = merkle.Frontier()
    rows = conn.execute(sa.select(audit_events).order_by(audit_events.c.seq))
    nodes: list[dict[str, object]] = []
    for r in rows:
        if r.seq != frontier.size:
            raise RuntimeError(
                f"audit_events has a gap: expected seq {frontier.size}, found {r.seq}"
            )
        leaf = event_leaf_hash(
            r.seq, canonical_at(r.at), r.actor, r.action, r.subject, canonical_json(r.data)
        )
        nodes.extend({"level": lv, "position": p, "hash": h} for lv, p, h in frontier.append(leaf))
        if len(nodes) >= BACKFILL_BATCH:
            conn.execute(sa.insert(audit_nodes), nodes)
            nodes = []
    if nodes:
        conn.execute(sa.insert(audit_nodes), nodes)


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on an audit table, for every connection, the app's included."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        return
    op.execute(
        f"""CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"""
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_rewrite BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
    )


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_rewrite ON {table}")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
