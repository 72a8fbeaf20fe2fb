"""Floor item 8: an approval counts only while its principal still holds a role that fits it.

A revocation, an expiry or a suspension voids the principal's approvals on open requests; the
worker and every new approval check again, so a lapse nobody swept yet still cannot execute.
"""

from __future__ import annotations

from collections.abc import Mapping

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import Conflict
from thawgate.domain.grants import unbacked_approvals
from thawgate.domain.model import Principal
from thawgate.domain.request import Request
from thawgate.services import audit
from thawgate.services.env import Env


def void_unbacked(
    uow: UnitOfWork,
    env: Env,
    request: Request,
    *,
    actor: str,
    known: Mapping[str, Principal] | None = None,
) -> bool:
    """Drop the request's approvals that current roles no longer back. True if any were.

    `known` may carry the approvers already read (with their effective roles, as of now)."""
    if not request.approvals:
        return False
    now = env.clock()
    ids = sorted({a.principal for a in request.approvals})
    if known is not None and all(i in known for i in ids):
        principals = {i: known[i] for i in ids}
    else:
        principals = uow.principals.get_many(ids, as_of=now)
    gone = {a.principal for a in unbacked_approvals(request.approvals, principals)}
    if not gone:
        return False
    voided = request.void_approvals(
        principals=gone,
        now=now,
        why=f"approval voided: {', '.join(sorted(gone))} no longer holds the role it filled",
    )
    if not uow.requests.save(request):
        raise Conflict(f"request {request.id} changed concurrently; retry")
    audit.request_event(
        uow,
        request,
        actor=actor,
        action="request:approval-voided",
        at=now,
        extra={"voided": [a.as_dict() for a in voided]},
    )
    return True


def void_for_principal(uow: UnitOfWork, env: Env, principal_id: str, *, actor: str) -> int:
    """After a revocation, expiry or suspension: void what no longer stands. Returns the count
    of requests that lost an approval."""
    count = 0
    for request_id in uow.grants.open_requests_approved_by(principal_id):
        request = uow.requests.get(request_id, for_update=True)
        if request is not None and request.is_open:
            count += void_unbacked(uow, env, request, actor=actor)
    return count
