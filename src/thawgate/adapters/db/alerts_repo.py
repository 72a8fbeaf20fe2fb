"""Alerts: events that someone must look at (GET /v1/alerts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.tables import alerts


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    kind: str
    severity: str
    subject: str
    request_id: str | None
    data: dict[str, Any]
    created_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None


class AlertRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, alert: Alert) -> None:
        self.conn.execute(
            sa.insert(alerts).values(
                id=alert.id,
                kind=alert.kind,
                severity=alert.severity,
                subject=alert.subject,
                request_id=alert.request_id,
                data=alert.data,
                created_at=alert.created_at,
            )
        )

    def recent(self, *, limit: int, unacknowledged: bool = False) -> list[Alert]:
        q = sa.select(alerts).order_by(alerts.c.created_at.desc(), alerts.c.id).limit(limit)
        if unacknowledged:
            q = q.where(alerts.c.acknowledged_at.is_(None))
        return [_alert(r) for r in self.conn.execute(q)]

    def acknowledge(self, alert_id: str, by: str, at: datetime) -> bool:
        result = self.conn.execute(
            sa.update(alerts)
            .where(alerts.c.id == alert_id, alerts.c.acknowledged_at.is_(None))
            .values(acknowledged_by=by, acknowledged_at=at)
        )
        return result.rowcount == 1


def _alert(row: Any) -> Alert:
    return Alert(
        id=row.id,
        kind=row.kind,
        severity=row.severity,
        subject=row.subject,
        request_id=row.request_id,
        data=dict(row.data),
        created_at=row.created_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
    )
