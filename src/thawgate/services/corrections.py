"""Undoing and retrying: a senior reverts an executed request; an operator retries a failed one."""

from __future__ import annotations

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import Conflict
from thawgate.domain.model import Principal
from thawgate.domain.request import Request
from thawgate.policy.authz import RequestResource, SystemResource
from thawgate.services import audit
from thawgate.services.env import Env, authorize
from thawgate.services.execution import place_linked
from thawgate.services.review import load_for_update, release_for_execution, save_or_conflict


def revert(
    uow: UnitOfWork, env: Env, *, actor: Principal, request_id: str, comment: str
) -> Request:
    """Re-place what a thaw lifted; for an unbind, place a `full` ATO_SUSPECTED restriction.

    Restricting is always safe, so it applies at once. The reverting senior is recorded as the
    placer: they can never approve the lift of what they re-placed.
    """
    with uow:
        request = load_for_update(uow, request_id)
        authorize(
            uow,
            env,
            principal=actor,
            action="revert_request",
            subject=f"request:{request.id}",
            resource=RequestResource(
                id=request.id,
                requester=request.requester,
                account_id=request.account_id,
                kind=request.kind,
                reasons=frozenset(),
                binding_types=frozenset(),
                clause_roles=frozenset(),
            ),
        )
        now = env.clock()
        request.revert(now, comment)
        if request.kind == "thaw":
            lifted = uow.accounts.lifted_by_request(request.id)
            wanted = [(r.id, r.scope, r.reason) for r in lifted]
        else:
            wanted = [("unbind", "full", "ATO_SUSPECTED")]
        system = env.account_system(uow)
        placed = []
        for source, scope, reason in wanted:
            rid, key = f"{request.id}-revert-{source}", f"{request.id}:revert:{source}"
            place_linked(
                uow, system, request, rid, key, scope=scope, reason=reason, now=now, expires=None
            )
            uow.accounts.add_placer(rid, actor.id)
            placed.append(rid)
        for relock in uow.relocks.for_request(request.id):
            uow.relocks.settle(relock.id, "cancelled", None)
        save_or_conflict(uow, request)
        audit.request_event(
            uow,
            request,
            actor=actor.id,
            action="request:reverted",
            at=now,
            extra={"comment": comment, "placed": placed},
        )
        uow.commit()
        return request


def retry_failed(
    uow: UnitOfWork, env: Env, *, actor: Principal, request_id: str, comment: str
) -> Request:
    """A failed execution goes back to `approved`, its job re-queued. Audited."""
    with uow:
        request = load_for_update(uow, request_id)
        authorize(
            uow,
            env,
            principal=actor,
            action="retry_job",
            subject=f"request:{request.id}",
            resource=SystemResource(name="jobs"),
        )
        now = env.clock()
        request.retry(now)
        holder = uow.requests.open_request_on(request.targets)
        if holder is not None:
            raise Conflict(f"an open request ({holder}) now targets this; retry refused")
        uow.requests.hold_targets(request.id, request.targets)
        save_or_conflict(uow, request)
        release_for_execution(uow, env, request)
        audit.request_event(
            uow,
            request,
            actor=actor.id,
            action="request:retried",
            at=now,
            extra={"comment": comment},
        )
        uow.commit()
        return request
