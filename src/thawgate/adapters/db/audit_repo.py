"""The audit log's append path: a gap-free sequence from a locked head row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.tables import audit_events, audit_head


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: dict[str, Any]


class AuditRepository:
    def __init__(self, conn: sa.Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows

    def append(
        self, *, at: datetime, actor: str, action: str, subject: str, data: dict[str, Any]
    ) -> int:
        q = sa.select(audit_head.c.next_seq).where(audit_head.c.id == 1)
        if self.lock_rows:
            q = q.with_for_update()
        seq = int(self.conn.execute(q).scalar_one())
        self.conn.execute(
            sa.insert(audit_events).values(
                seq=seq, at=at, actor=actor, action=action, subject=subject, data=data
            )
        )
        self.conn.execute(
            sa.update(audit_head).where(audit_head.c.id == 1).values(next_seq=seq + 1)
        )
        return seq

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
