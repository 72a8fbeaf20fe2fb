"""audit log: events keep the exact canonical JSON they were hashed from, on PostgreSQL too

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:40:00.000000

`audit_events.data` was JSONB on PostgreSQL: JSONB re-encodes what it stores (its own key order,
spaces after `:` and `,`), so `thawgate audit verify` had to parse every event and re-serialize it
canonically (RFC 8785) to recompute its leaf. As `json` the column keeps its text verbatim, as
SQLite always did: verify hashes the stored bytes as they are.

Existing rows are converted in place and rewritten as the JCS text their leaves were hashed from
(JSONB's text is not canonical). The append-only trigger refuses UPDATE, so it is disabled for
this one rewrite, inside the migration's transaction, and enabled again before it commits; no
other connection can write meanwhile (ALTER TABLE holds the table's exclusive lock). SQLite is
unchanged.
"""

from __future__ import annotations

import json

from alembic import op
from sqlalchemy.dialects import postgresql

from thawgate.domain.audit_event import canonical_json

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 5_000
_READ = "SELECT seq, data::text FROM audit_events WHERE seq > %s ORDER BY seq LIMIT %s"
_REWRITE = """
UPDATE audit_events AS e SET data = CAST(v.data AS json)
FROM unnest(%s::bigint[], %s::text[]) AS v(seq, data) WHERE e.seq = v.seq
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite stores `data` as the text it was given already
    op.alter_column(
        "audit_events",
        "data",
        existing_type=postgresql.JSONB(astext_type=None),
        type_=postgresql.JSON(astext_type=None),
        existing_nullable=False,
        postgresql_using="data::json",
    )
    op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_rewrite")
    _canonicalize()
    op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_rewrite")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        "audit_events",
        "data",
        existing_type=postgresql.JSON(astext_type=None),
        type_=postgresql.JSONB(astext_type=None),
        existing_nullable=False,
        postgresql_using="data::jsonb",
    )


def _canonicalize() -> None:
    """Rewrite each event's `data` as its JCS text: the same value, so the same leaf hash."""
    conn = op.get_bind()
    last = -1
    while True:
        rows = conn.exec_driver_sql(_READ, (last, BATCH)).all()
        if not rows:
            return
        seqs, texts = [], []
        for seq, text in rows:
            canonical = canonical_json(json.loads(text))
            if canonical != text:
                seqs.append(seq)
                texts.append(canonical)
        if seqs:
            conn.exec_driver_sql(_REWRITE, (seqs, texts))
        last = rows[-1][0]
