"""Alerts: raised by use cases in their own transaction, listed by GET /v1/alerts."""

from __future__ import annotations

from thawgate.adapters.db.alerts_repo import Alert
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.model import Principal
from thawgate.policy.authz import SystemResource
from thawgate.services.env import Env, authorize

ALERTS_MAX = 500


def raise_alert(
    uow: UnitOfWork,
    env: Env,
    *,
    kind: str,
    severity: str,
    subject: str,
    data: dict[str, object],
    request_id: str | None = None,
) -> Alert:
    """Record an alert in the caller's transaction (the caller commits), with its webhook
    outbox row: the worker delivers it after commit (services/webhooks.py)."""
    alert = Alert(
        id=env.ids("alert"),
        kind=kind,
        severity=severity,
        subject=subject,
        request_id=request_id,
        data=dict(data),
        created_at=env.clock(),
    )
    uow.alerts.add(alert)
    uow.alerts.enqueue_delivery(alert.id, alert.created_at)
    return alert


def list_alerts(
    uow: UnitOfWork, env: Env, *, actor: Principal, limit: int, unacknowledged: bool = False
) -> list[Alert]:
    with uow:
        authorize(
            uow,
            env,
            principal=actor,
            action="read_alerts",
            resource=SystemResource("alerts"),
            subject="alerts",
        )
        return uow.alerts.recent(limit=min(limit, ALERTS_MAX), unacknowledged=unacknowledged)
