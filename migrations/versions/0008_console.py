"""console: queue filter columns on requests, request claims, login failures

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 12:40:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

import thawgate.adapters.db.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UtcDateTime = thawgate.adapters.db.tables.UtcDateTime


def upgrade() -> None:
    op.add_column(
        "requests", sa.Column("risk_score", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "requests", sa.Column("reasons", sa.String(length=512), server_default="", nullable=False)
    )
    _backfill_queue_columns()
    op.drop_index("ix_requests_status_created_at", table_name="requests")
    op.create_index(
        "ix_requests_queue",
        "requests",
        ["status", "created_at", "id"],
        unique=False,
        postgresql_include=["risk_score", "reasons", "requester", "kind", "account_id"],
    )
    op.create_table(
        "request_claims",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=128), nullable=False),
        sa.Column("claimed_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_request_claims_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_claims")),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key", "at"], unique=False)


def _backfill_queue_columns() -> None:
    """Copy each existing request's risk score and target reasons into the new columns."""
    conn = op.get_bind()
    requests = sa.table(
        "requests",
        sa.column("id", sa.String),
        sa.column("decision", sa.JSON),
        sa.column("facts", sa.JSON),
        sa.column("risk_score", sa.Integer),
        sa.column("reasons", sa.String),
    )
    rows = conn.execute(sa.select(requests.c.id, requests.c.decision, requests.c.facts)).all()
    for rid, decision, facts in rows:
        score, reasons = _queue_values(_loaded(decision), _loaded(facts))
        conn.execute(
            sa.update(requests)
            .where(requests.c.id == rid)
            .values(risk_score=score, reasons=reasons)
        )


def _loaded(value: Any) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return loaded if isinstance(loaded, dict) else {}


def _queue_values(decision: dict[str, Any], facts: dict[str, Any]) -> tuple[int, str]:
    risk = decision.get("risk") or {}
    decided = facts.get("decision_facts") or facts
    found = [str(r) for r in (decided.get("reasons") or [])] + [
        str(b) for b in (decided.get("binding_types") or [])
    ]
    return int(risk.get("score", 0)), f" {' '.join(sorted(found))} " if found else ""


def downgrade() -> None:
    op.drop_index("ix_login_failures_key_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_table("request_claims")
    op.drop_index("ix_requests_queue", table_name="requests")
    op.create_index(
        "ix_requests_status_created_at", "requests", ["status", "created_at"], unique=False
    )
    op.drop_column("requests", "reasons")
    op.drop_column("requests", "risk_score")
