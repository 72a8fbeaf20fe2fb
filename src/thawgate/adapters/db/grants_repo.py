"""Role grants and access reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.tables import access_reviews, grants, requests
from thawgate.domain.grants import Grant

_FIELDS = (
    "id", "principal_id", "role", "status", "justification", "expires_at", "proposed_by",
    "proposed_at", "approved_by", "approved_at", "ended_by", "ended_at", "end_reason",
    "reviewed_by", "reviewed_at", "version",
)  # fmt: skip
OPEN_WITH_APPROVALS = ("pending_approval", "approved")


class GrantRepository:
    def __init__(self, conn: sa.Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows

    def add(self, grant: Grant) -> None:
        self.conn.execute(sa.insert(grants).values(**_row(grant)))

    def get(self, grant_id: str, *, for_update: bool = False) -> Grant | None:
        q = sa.select(grants).where(grants.c.id == grant_id)
        if for_update and self.lock_rows:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return None if row is None else _grant(row)

    def save(self, grant: Grant) -> bool:
        """Compare-and-swap on the grant's version; bumps it on success."""
        expected = grant.version
        result = self.conn.execute(
            sa.update(grants)
            .where(grants.c.id == grant.id, grants.c.version == expected)
            .values(**(_row(grant) | {"version": expected + 1}))
        )
        if result.rowcount == 1:
            grant.version = expected + 1
            return True
        return False

    def of_principal(self, principal_id: str) -> list[Grant]:
        q = sa.select(grants).where(grants.c.principal_id == principal_id)
        return [_grant(r) for r in self.conn.execute(q.order_by(grants.c.proposed_at))]

    def with_status(self, status: str) -> list[Grant]:
        q = sa.select(grants).where(grants.c.status == status)
        return [_grant(r) for r in self.conn.execute(q.order_by(grants.c.role, grants.c.id))]

    def due_to_expire(self, now: datetime, limit: int = 100) -> list[str]:
        q = (
            sa.select(grants.c.id)
            .where(grants.c.status.in_(("active", "pending")), grants.c.expires_at <= now)
            .order_by(grants.c.expires_at)
            .limit(limit)
        )
        return list(self.conn.execute(q).scalars())

    def granted_roles(self, principal_ids: list[str], now: datetime) -> dict[str, set[str]]:
        """Roles from active, unexpired grants, by principal."""
        if not principal_ids:
            return {}
        q = sa.select(grants.c.principal_id, grants.c.role).where(
            grants.c.principal_id.in_(principal_ids),
            grants.c.status == "active",
            grants.c.expires_at > now,
        )
        out: dict[str, set[str]] = {}
        for pid, role in self.conn.execute(q):
            out.setdefault(pid, set()).add(role)
        return out

    def open_requests_approved_by(self, principal_id: str) -> list[str]:
        """Open requests holding an approval by this principal (filtered here: the approvals
        are a JSON list, and this runs only on a revocation, an expiry or a suspension)."""
        q = sa.select(requests.c.id, requests.c.approvals).where(
            requests.c.status.in_(OPEN_WITH_APPROVALS)
        )
        return [
            rid
            for rid, approvals in self.conn.execute(q)
            if any(a.get("principal") == principal_id for a in approvals)
        ]

    def touch(self, principal_id: str, roles: list[str], now: datetime) -> None:
        """Record that these roles of the principal's active grants were just relied on."""
        self.conn.execute(
            sa.update(grants)
            .where(
                grants.c.principal_id == principal_id,
                grants.c.role.in_(roles),
                grants.c.status == "active",
                grants.c.expires_at > now,
            )
            .values(last_used_at=now)
        )

    def last_used(self, grant_ids: list[str]) -> dict[str, datetime | None]:
        if not grant_ids:
            return {}
        q = sa.select(grants.c.id, grants.c.last_used_at).where(grants.c.id.in_(grant_ids))
        return {row.id: row.last_used_at for row in self.conn.execute(q)}

    def add_review(
        self, review_id: str, grant_id: str, reviewer: str, verdict: str, comment: str, at: datetime
    ) -> None:
        self.conn.execute(
            sa.insert(access_reviews).values(
                id=review_id,
                grant_id=grant_id,
                reviewer=reviewer,
                verdict=verdict,
                comment=comment,
                at=at,
            )
        )


def _row(g: Grant) -> dict[str, Any]:
    return {name: getattr(g, name) for name in _FIELDS}


def _grant(row: Any) -> Grant:
    return Grant(**{name: getattr(row, name) for name in _FIELDS})
