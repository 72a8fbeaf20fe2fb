"""Review: approvals (bound to the reviewed state), rejections, questions, answers, withdrawal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.clauses import check_floor, open_clauses
from thawgate.domain.errors import Conflict, NotFound, Stale
from thawgate.domain.model import Account, Principal
from thawgate.domain.request import Evidence, Request
from thawgate.policy.authz import RequestResource
from thawgate.services import audit
from thawgate.services.approval_backing import void_unbacked
from thawgate.services.assess import Assessment, FactSource, Subject, assess
from thawgate.services.env import Env, actor_of, authorize, floor_refusals_audited


def approve(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    request_id: str,
    comment: str,
    state_digest: str | None = None,
) -> Request:
    with uow:
        request = load_for_update(uow, request_id)
        if request.status != "pending_approval":
            raise Conflict(f"request {request.id} is {request.status}, not pending_approval")
        now = env.clock()
        a = reassess(uow, env, request, approver=actor.id)
        with floor_refusals_audited(uow, env, actor=actor, subject=f"request:{request.id}"):
            check_floor(
                approver=actor,
                requester=request.requester,
                placers=a.placers,
                approvals=request.approvals,
            )
        authorize(
            uow,
            env,
            principal=actor,
            action="approve_request",
            subject=f"request:{request.id}",
            resource=request_resource(request),
        )
        if state_digest is not None and state_digest != request.state_digest:
            raise Stale("the request changed since you looked at it; review the new state")
        if settle_reassessment(uow, env, request, a, actor=actor.id):
            uow.commit()
            raise Stale(
                f"the request changed since it was reviewed ({request.status_reason}); "
                "its approvals were cleared"
            )
        void_unbacked(uow, env, request, actor=actor.id)  # floor item 8, before counting
        with floor_refusals_audited(uow, env, actor=actor, subject=f"request:{request.id}"):
            approval = request.add_approval(
                approver=actor, placers=a.placers, comment=comment, now=now
            )
        save_or_conflict(uow, request)
        audit.request_event(
            uow,
            request,
            actor=actor.id,
            action="request:approved",
            at=now,
            extra={"approval": approval.as_dict()},
        )
        if request.status == "approved":
            release_for_execution(uow, env, request)
        uow.commit()
        return request


def reassess(
    uow: UnitOfWork,
    env: Env,
    request: Request,
    *,
    account: Account | None = None,
    requester: Principal | None = None,
    source: FactSource | None = None,
    approver: str | None = None,
) -> Assessment:
    """Judge a stored request again on the current state (prefetched parts may be passed).

    The approvals held, plus an arriving `approver`'s, are scored for pair recurrence."""
    account = account or uow.accounts.get(request.account_id)
    requester = requester or uow.principals.get(request.requester, as_of=env.clock())
    if account is None or requester is None:
        raise NotFound(f"request {request.id} refers to a missing account or requester")
    return assess(
        uow,
        env.policy,
        Subject(
            kind=request.kind,
            account=account,
            target_ids=request.targets,
            requester=requester,
            evidence=request.evidence,
            evidence_as_of=request.evidence_as_of or request.created_at,
            duration_hours=request.duration_hours,
            request_id=request.id,
            submitted_at=request.created_at,
            approvers=tuple(
                dict.fromkeys(
                    [*(a.principal for a in request.approvals), *([approver] if approver else [])]
                )
            ),
        ),
        env.clock(),
        source,
    )


def settle_reassessment(
    uow: UnitOfWork, env: Env, request: Request, a: Assessment, *, actor: str
) -> bool:
    """Apply a re-evaluation. True when the request moved (rejected or back to review)."""
    now = env.clock()
    refusal = requester_refusal(uow, env, request, a)
    if a.inactive or a.decision.outcome == "reject" or refusal:
        hit = a.decision.rejecting_rule
        why = refusal or (
            f"target no longer active: {', '.join(a.inactive)}"
            if a.inactive
            else f"re-evaluation rejects: {hit.id}: {hit.message}"
            if hit
            else "rejected"
        )
        request.redecide(decision=a.decision, digest=a.digest)
        request.reject(now, why)
        uow.requests.release_targets(request.id)
        save_or_conflict(uow, request, a)
        audit.request_event(uow, request, actor=actor, action="request:rejected", at=now)
        return True
    if a.digest != request.state_digest:
        why = _what_changed(request, a)
        request.go_stale(decision=a.decision, digest=a.digest, now=now, why=why)
        save_or_conflict(uow, request, a)
        audit.request_event(
            uow, request, actor=actor, action="request:stale", at=now, extra={"changed": why}
        )
        return True
    request.redecide(decision=a.decision, digest=a.digest)
    return False


def requester_refusal(uow: UnitOfWork, env: Env, request: Request, a: Assessment) -> str | None:
    """Re-run the authority matrix on the current reasons: an amended target may now be one the
    requester's team may not ask to thaw (a restriction raised to a legal hold, say)."""
    if "non_liftable" in a.reason_classes:
        return None  # the policy rejects these whoever asks
    requester = a.requester or uow.principals.get(request.requester)
    if requester is None:
        return "the requester no longer exists"
    decision = env.authorizer.authorize(
        actor_of(requester),
        "submit_request",
        RequestResource(
            id=request.id,
            requester=request.requester,
            account_id=request.account_id,
            kind=request.kind,
            reasons=frozenset(a.reasons),
            binding_types=frozenset(a.binding_types),
            clause_roles=frozenset(),
        ),
    )
    if decision.allowed:
        return None
    return f"the requester may no longer ask for this: {decision.explain()}"


def _what_changed(request: Request, a: Assessment) -> str:
    old, new = request.decision, a.decision
    parts = []
    if old.required_approvals != new.required_approvals or old.min_teams != new.min_teams:
        parts.append("the approvals required changed")
    if old.evidence_required != new.evidence_required:
        parts.append("the evidence required changed")
    if old.outcome != new.outcome:
        parts.append(f"the outcome changed from {old.outcome} to {new.outcome}")
    old_ops = {op.target: op.expected_version for op in old.plan if op.target}
    for t in a.targets:
        if old_ops.get(t.id) not in (None, t.version):
            parts.append(f"{t.id} changed (version {old_ops[t.id]} -> {t.version})")
    return "; ".join(parts) or "the plan changed"


def release_for_execution(uow: UnitOfWork, env: Env, request: Request) -> None:
    """Final approval: commit the execution job in the same transaction."""
    if uow.jobs.exists(request.id):
        uow.jobs.requeue(request.id, env.clock())
    else:
        uow.jobs.enqueue(env.ids("job"), request.id, env.clock())


def answer(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    request_id: str,
    comment: str,
    evidence: list[Evidence],
) -> Request:
    with uow:
        request = load_for_update(uow, request_id)
        authorize(
            uow,
            env,
            principal=actor,
            action="answer_request",
            subject=f"request:{request.id}",
            resource=request_resource(request),
        )
        now = env.clock()
        request.answer(now=now, evidence=evidence)
        a = reassess(uow, env, request)
        if not settle_reassessment(uow, env, request, a, actor=actor.id):
            save_or_conflict(uow, request, a)
        audit.request_event(
            uow,
            request,
            actor=actor.id,
            action="request:answered",
            at=now,
            extra={"comment": comment, "evidence": [e.as_dict() for e in evidence]},
        )
        uow.commit()
        return request


def reject(
    uow: UnitOfWork, env: Env, *, actor: Principal, request_id: str, comment: str
) -> Request:
    return _move(
        uow,
        env,
        actor=actor,
        request_id=request_id,
        action="reject_request",
        change=lambda r, now: r.reject(now, f"rejected by {actor.id}: {comment}"),
        audit_action="request:rejected",
        releases=True,
        extra={"comment": comment},
    )


def question(
    uow: UnitOfWork, env: Env, *, actor: Principal, request_id: str, comment: str
) -> Request:
    return _move(
        uow,
        env,
        actor=actor,
        request_id=request_id,
        action="question_request",
        change=lambda r, now: r.question(now, comment),
        audit_action="request:question",
        releases=False,
        extra={"comment": comment},
    )


def withdraw(uow: UnitOfWork, env: Env, *, actor: Principal, request_id: str) -> Request:
    return _move(
        uow,
        env,
        actor=actor,
        request_id=request_id,
        action="withdraw_request",
        change=lambda r, now: r.withdraw(now),
        audit_action="request:withdrawn",
        releases=True,
    )


def _move(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    request_id: str,
    action: str,
    change: Callable[[Request, datetime], None],
    audit_action: str,
    releases: bool,
    extra: dict[str, object] | None = None,
) -> Request:
    """The shape of a plain review step: authorize, move the status, save, audit, commit."""
    with uow:
        request = load_for_update(uow, request_id)
        authorize(
            uow,
            env,
            principal=actor,
            action=action,
            subject=f"request:{request.id}",
            resource=request_resource(request),
        )
        now = env.clock()
        change(request, now)
        if releases:
            uow.requests.release_targets(request.id)
        save_or_conflict(uow, request)
        audit.request_event(uow, request, actor=actor.id, action=audit_action, at=now, extra=extra)
        uow.commit()
        return request


def load_for_update(uow: UnitOfWork, request_id: str) -> Request:
    request = uow.requests.get(request_id, for_update=True)
    if request is None:
        raise NotFound(f"no request {request_id}")
    return request


def save_or_conflict(uow: UnitOfWork, request: Request, a: Assessment | None = None) -> None:
    if not uow.requests.save(request, a.facts if a is not None else None):
        raise Conflict(f"request {request.id} changed concurrently; retry")


def request_resource(request: Request) -> RequestResource:
    """The request as Cedar sees it: its open clauses name who may act on it."""
    clauses = request.decision.required_approvals
    open_roles = set(open_clauses(clauses, request.approvals)) or {c.role for c in clauses}
    return RequestResource(
        id=request.id,
        requester=request.requester,
        account_id=request.account_id,
        kind=request.kind,
        reasons=frozenset(),
        binding_types=frozenset(),
        clause_roles=frozenset(open_roles),
    )
