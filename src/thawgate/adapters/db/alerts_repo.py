"""Alerts: events that someone must look at (GET /v1/alerts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.tables import alert_deliveries, alerts


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert due to the webhook, claimed for one attempt."""

    alert: Alert
    attempts: int  # including this one


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

    def enqueue_delivery(self, alert_id: str, now: datetime) -> None:
        """The webhook outbox row, in the alert's own transaction."""
        self.conn.execute(
            sa.insert(alert_deliveries).values(
                alert_id=alert_id, status="pending", attempts=0, next_attempt_at=now
            )
        )

    def claim_deliveries(
        self, now: datetime, lease: timedelta, limit: int, *, skip_locked: bool
    ) -> list[Delivery]:
        """Due, unleased deliveries: leased to the caller and counted as one more attempt."""
        d = alert_deliveries
        q = (
            sa.select(d.c.alert_id, d.c.attempts)
            .where(
                d.c.status == "pending",
                d.c.next_attempt_at <= now,
                sa.or_(d.c.leased_until.is_(None), d.c.leased_until < now),
            )
            .order_by(d.c.next_attempt_at, d.c.alert_id)
            .limit(limit)
        )
        if skip_locked:
            q = q.with_for_update(skip_locked=True)
        due = {row.alert_id: row.attempts for row in self.conn.execute(q)}
        if not due:
            return []
        self.conn.execute(
            sa.update(d)
            .where(d.c.alert_id.in_(list(due)))
            .values(leased_until=now + lease, attempts=d.c.attempts + 1)
        )
        found = self.conn.execute(sa.select(alerts).where(alerts.c.id.in_(list(due))))
        by_id = {row.id: _alert(row) for row in found}
        return [Delivery(by_id[i], due[i] + 1) for i in due if i in by_id]

    def delivered(self, alert_id: str, at: datetime) -> None:
        self.conn.execute(
            sa.update(alert_deliveries)
            .where(alert_deliveries.c.alert_id == alert_id)
            .values(status="delivered", delivered_at=at, leased_until=None, last_error=None)
        )

    def retry_delivery(self, alert_id: str, at: datetime, error: str) -> None:
        self.conn.execute(
            sa.update(alert_deliveries)
            .where(alert_deliveries.c.alert_id == alert_id, alert_deliveries.c.status == "pending")
            .values(next_attempt_at=at, leased_until=None, last_error=error[:2000])
        )

    def delivery_counts(self) -> dict[str, int]:
        q = sa.select(alert_deliveries.c.status, sa.func.count()).group_by(
            alert_deliveries.c.status
        )
        return {status: int(n) for status, n in self.conn.execute(q)}

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
