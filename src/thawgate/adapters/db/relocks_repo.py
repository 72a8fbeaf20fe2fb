"""Scheduled re-freezes of time-boxed thaws."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from thawgate.adapters.db.tables import relocks


@dataclass(frozen=True, slots=True)
class Relock:
    id: str
    request_id: str
    account_id: str
    lifted: str
    scope: str
    reason: str
    due_at: datetime
    status: str
    placed: str | None


class RelockRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(
        self,
        *,
        relock_id: str,
        request_id: str,
        account_id: str,
        lifted: str,
        scope: str,
        reason: str,
        due_at: datetime,
    ) -> None:
        self.conn.execute(
            sa.insert(relocks).values(
                id=relock_id,
                request_id=request_id,
                account_id=account_id,
                lifted_restriction=lifted,
                scope=scope,
                reason=reason,
                due_at=due_at,
                status="pending",
            )
        )

    def due(self, now: datetime, limit: int = 100) -> list[Relock]:
        q = (
            sa.select(relocks)
            .where(relocks.c.status == "pending", relocks.c.due_at <= now)
            .order_by(relocks.c.due_at)
            .limit(limit)
        )
        return [_relock(r) for r in self.conn.execute(q)]

    def for_request(self, request_id: str) -> list[Relock]:
        q = sa.select(relocks).where(relocks.c.request_id == request_id)
        return [_relock(r) for r in self.conn.execute(q)]

    def settle(self, relock_id: str, status: str, placed: str | None) -> bool:
        result = self.conn.execute(
            sa.update(relocks)
            .where(relocks.c.id == relock_id, relocks.c.status == "pending")
            .values(status=status, placed_restriction=placed)
        )
        return result.rowcount == 1


def _relock(row: sa.Row[object]) -> Relock:
    m = row._mapping
    return Relock(
        m["id"],
        m["request_id"],
        m["account_id"],
        m["lifted_restriction"],
        m["scope"],
        m["reason"],
        m["due_at"],
        m["status"],
        m["placed_restriction"],
    )
