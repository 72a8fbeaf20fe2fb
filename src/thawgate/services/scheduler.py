"""Time-driven work inside the worker: expire stale requests, lapse expiring restrictions."""

from __future__ import annotations

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.services import audit
from thawgate.services.env import Env

SYSTEM = "system"


def expire_pending(uow: UnitOfWork, env: Env) -> int:
    """Requests left pending past the policy's expiry become `expired`."""
    with uow:
        now = env.clock()
        done = 0
        for request_id in uow.requests.due_for_expiry(now, env.policy.pending_expiry_hours):
            request = uow.requests.get(request_id, for_update=True)
            if request is None or not request.is_open:
                continue
            request.expire(now)
            uow.requests.release_targets(request.id)
            if uow.requests.save(request):
                audit.request_event(uow, request, actor=SYSTEM, action="request:expired", at=now)
                done += 1
        uow.commit()
        return done


def lapse_restrictions(uow: UnitOfWork, env: Env) -> int:
    """Restrictions whose `expires_at` has passed lapse on time, audited."""
    with uow:
        now = env.clock()
        done = 0
        for r in uow.accounts.due_restrictions(now):
            version = r.version
            r.expire(now)
            if uow.accounts.save_restriction(r, expected_version=version, now=now):
                uow.audit.append(
                    at=now,
                    actor=SYSTEM,
                    action="restriction:expired",
                    subject=r.id,
                    data={"account_id": r.account_id, "reason": r.reason, "scope": r.scope},
                )
                done += 1
        uow.commit()
        return done
