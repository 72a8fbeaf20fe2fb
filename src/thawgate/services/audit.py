"""Audit events for state changes. Written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.request import Request


def request_event(
    uow: UnitOfWork,
    request: Request,
    *,
    actor: str,
    action: str,
    at: datetime,
    extra: dict[str, object] | None = None,
) -> int:
    d = request.decision
    data: dict[str, object] = {
        "request_id": request.id,
        "kind": request.kind,
        "account_id": request.account_id,
        "targets": list(request.targets),
        "status": request.status,
        "status_reason": request.status_reason,
        "decision": {
            "outcome": d.outcome,
            "policy_version": d.policy_version,
            "rules": [{"id": r.id, "effect": r.effect, "message": r.message} for r in d.rules],
            "risk_score": d.risk.score,
        },
        "state_digest": request.state_digest,
        "stale_count": request.stale_count,
    }
    if extra:
        data.update(extra)
    return uow.audit.append(
        at=at, actor=actor, action=action, subject=f"request:{request.id}", data=data
    )
