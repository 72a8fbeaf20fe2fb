"""Time-driven work inside the worker: expire stale requests, lapse expiring restrictions."""

from __future__ import annotations

from functools import partial

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


def relock_due(uow: UnitOfWork, env: Env) -> int:
    """A time-boxed thaw ran out: re-place the same scope and reason, linked to the request."""
    from thawgate.services.execution import mirror_placed, settle

    with uow:
        now = env.clock()
        system = env.account_system(uow)
        done = 0
        for relock in uow.relocks.due(now):
            rid = f"{relock.request_id}-relock-{relock.lifted}"
            key = f"{relock.request_id}:relock:{relock.lifted}"
            settle(
                system,
                rid,
                None,
                key,
                partial(
                    system.place_restriction,
                    account_id=relock.account_id,
                    restriction_id=rid,
                    scope=relock.scope,
                    reason=relock.reason,
                    expires_at=None,
                    key=key,
                ),
            )
            request = uow.requests.get(relock.request_id)
            if request is not None:
                mirror_placed(uow, system, request, rid, relock.scope, relock.reason, now, None)
            uow.relocks.settle(relock.id, "done", rid)
            uow.audit.append(
                at=now,
                actor=SYSTEM,
                action="restriction:relocked",
                subject=f"restriction:{rid}",
                data={
                    "request_id": relock.request_id,
                    "lifted": relock.lifted,
                    "scope": relock.scope,
                    "reason": relock.reason,
                },
            )
            done += 1
        uow.commit()
        return done
