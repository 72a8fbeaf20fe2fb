"""The reasons of restrictions by id: what need-to-know redaction needs of a request's targets."""

from __future__ import annotations

import sqlalchemy as sa

from thawgate.adapters.db.tables import restrictions


def target_reasons(conn: sa.Connection, restriction_ids: list[str]) -> dict[str, str]:
    if not restriction_ids:
        return {}
    q = sa.select(restrictions.c.id, restrictions.c.reason).where(
        restrictions.c.id.in_(sorted(set(restriction_ids)))
    )
    return {row.id: row.reason for row in conn.execute(q)}
