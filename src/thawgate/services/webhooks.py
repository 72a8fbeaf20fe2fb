"""Deliver every alert to the configured webhook, after its transaction has committed.

`alerts.raise_alert` writes an outbox row (`alert_deliveries`) in the alert's own transaction,
so an alert never exists without its delivery, and no request transaction waits on the network.
The worker calls `deliver_due` on every pass: it leases due rows (one short transaction), POSTs
each one outside any transaction, then records the outcome. A failed attempt is retried with
exponential backoff (1 s, 2 s, 4 s ... capped at an hour) for as long as it takes: a delivery
is never dropped. A worker killed mid-attempt leaves its lease to run out, and the alert is sent
again: at least once, with the same `webhook-id`, so the receiver can drop duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from thawgate.adapters.db.alerts_repo import Alert
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.services.env import Env

LEASE = timedelta(seconds=60)
BACKOFF_CAP = timedelta(hours=1)


class Sender(Protocol):
    def send(self, message_id: str, body: str) -> None: ...


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    delivered: int
    failed: int


def payload(alert: Alert) -> str:
    """The Standard Webhooks payload shape: {type, timestamp, data}."""
    return json.dumps(
        {
            "type": f"alert.{alert.kind}",
            "timestamp": alert.created_at.isoformat(),
            "data": {
                "id": alert.id,
                "kind": alert.kind,
                "severity": alert.severity,
                "subject": alert.subject,
                "request_id": alert.request_id,
                "data": alert.data,
                "created_at": alert.created_at.isoformat(),
            },
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts - 1, 20)), BACKOFF_CAP)


def deliver_due(
    make_uow: Callable[[], UnitOfWork], env: Env, sender: Sender, *, batch: int = 50
) -> DeliveryResult:
    with make_uow() as uow:
        now = env.clock()
        due = uow.alerts.claim_deliveries(
            now, LEASE, batch, skip_locked=uow.dialect == "postgresql"
        )
        uow.commit()
    delivered = failed = 0
    for d in due:
        try:
            sender.send(d.alert.id, payload(d.alert))
        except Exception as exc:  # any failure is retried, never lost
            failed += 1
            with make_uow() as uow:
                uow.alerts.retry_delivery(
                    d.alert.id, env.clock() + backoff(d.attempts), f"{type(exc).__name__}: {exc}"
                )
                uow.commit()
            continue
        delivered += 1
        with make_uow() as uow:
            uow.alerts.delivered(d.alert.id, env.clock())
            uow.commit()
    return DeliveryResult(delivered, failed)
