"""Break-glass uses and their after-the-fact reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.tables import break_glass, principals
from thawgate.domain.break_glass import BreakGlass

_FIELDS = (
    "id", "request_id", "principal", "team", "clause", "justification", "at", "alert_id",
    "review_status", "reviewed_by", "reviewed_at", "verdict", "review_comment",
)  # fmt: skip


class BreakGlassRepository:
    def __init__(self, conn: sa.Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows

    def add(self, record: BreakGlass) -> None:
        self.conn.execute(sa.insert(break_glass).values(**_row(record)))

    def get(self, record_id: str, *, for_update: bool = False) -> BreakGlass | None:
        q = sa.select(break_glass).where(break_glass.c.id == record_id)
        if for_update and self.lock_rows:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return None if row is None else _record(row)

    def close_review(self, record: BreakGlass) -> bool:
        """Write the review, guarded on the review still being open."""
        result = self.conn.execute(
            sa.update(break_glass)
            .where(break_glass.c.id == record.id, break_glass.c.review_status == "open")
            .values(
                review_status=record.review_status,
                reviewed_by=record.reviewed_by,
                reviewed_at=record.reviewed_at,
                verdict=record.verdict,
                review_comment=record.review_comment,
            )
        )
        return result.rowcount == 1

    def count_since(self, principal_id: str, since: datetime) -> int:
        """Uses by this principal since `since`. On PostgreSQL the principal's row is locked
        first, so two concurrent uses by one person cannot both pass the daily limit (SQLite
        has one writer at a time already)."""
        if self.lock_rows:
            self.conn.execute(
                sa.select(principals.c.id).where(principals.c.id == principal_id).with_for_update()
            )
        q = sa.select(sa.func.count()).where(
            break_glass.c.principal == principal_id, break_glass.c.at > since
        )
        return int(self.conn.execute(q).scalar_one())

    def listing(self, *, open_only: bool, limit: int = 500) -> list[BreakGlass]:
        q = sa.select(break_glass).order_by(break_glass.c.at.desc(), break_glass.c.id).limit(limit)
        if open_only:
            q = q.where(break_glass.c.review_status == "open")
        return [_record(r) for r in self.conn.execute(q)]


def _row(r: BreakGlass) -> dict[str, Any]:
    return {name: getattr(r, name) for name in _FIELDS}


def _record(row: Any) -> BreakGlass:
    return BreakGlass(**{name: getattr(row, name) for name in _FIELDS})
