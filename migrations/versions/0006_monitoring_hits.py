"""post-thaw monitoring: monitoring_hits

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import thawgate.adapters.db.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_hits",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column(
            "event_at", thawgate.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("requester", sa.String(length=128), nullable=False),
        sa.Column(
            "approvers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("policy_version", sa.String(length=128), nullable=False),
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("restriction_id", sa.String(length=128), nullable=True),
        sa.Column(
            "detected_at", thawgate.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_monitoring_hits_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_monitoring_hits_request_id_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_hits")),
        sa.UniqueConstraint(
            "request_id", "rule_id", name=op.f("uq_monitoring_hits_request_id_rule_id")
        ),
    )
    with op.batch_alter_table("monitoring_hits", schema=None) as batch_op:
        batch_op.create_index("ix_monitoring_hits_detected_at", ["detected_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("monitoring_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_monitoring_hits_detected_at")
    op.drop_table("monitoring_hits")
