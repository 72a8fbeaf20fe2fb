"""Submitting a thaw or unbind request."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.catalog import ReasonClass
from thawgate.domain.decision import Decision
from thawgate.domain.errors import Conflict, IdempotencyMismatch, ValidationFailed
from thawgate.domain.model import Account, Principal
from thawgate.domain.request import Evidence, Request
from thawgate.policy.authz import RequestResource
from thawgate.services import audit
from thawgate.services.assess import Subject, assess, resolve_targets
from thawgate.services.env import Env, authorize

MAX_DURATION_HOURS = 24 * 90  # a thaw's duration: at most 90 days (the API and the console)


@dataclass(frozen=True, slots=True)
class NewRequest:
    kind: str
    account_id: str
    targets: list[str]
    justification: str
    evidence: list[Evidence]
    ticket: str | None = None
    duration_hours: int | None = None

    def fingerprint(self) -> str:
        body = {
            "kind": self.kind,
            "account_id": self.account_id,
            "targets": self.targets,
            "justification": self.justification,
            "ticket": self.ticket,
            "duration_hours": self.duration_hours,
            "evidence": [e.as_dict() for e in self.evidence],
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def submit(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    body: NewRequest,
    idempotency_key: str | None = None,
) -> Request:
    """Validate, decide, and record. Returns the request (a retry returns the same one)."""
    hours = body.duration_hours
    if hours is not None and not 1 <= hours <= MAX_DURATION_HOURS:
        raise ValidationFailed(
            f"duration_hours: 1 to {MAX_DURATION_HOURS} hours", field="duration_hours"
        )
    with uow:
        account = _account(uow, body.account_id)  # locks the account's rows on PostgreSQL
        if idempotency_key:
            earlier = uow.requests.by_idempotency_key(actor.id, idempotency_key)
            if earlier is not None:
                if earlier.body_hash != body.fingerprint():
                    raise IdempotencyMismatch(
                        f"Idempotency-Key {idempotency_key!r} was used with a different body"
                    )
                return earlier
        restrictions, _ = resolve_targets(account, body.kind, body.targets)
        _check_active(account, body.targets)
        now = env.clock()
        request_id = env.ids("req")
        a = assess(
            uow,
            env.policy,
            Subject(
                kind=body.kind,
                account=account,
                target_ids=body.targets,
                requester=actor,
                evidence=body.evidence,
                evidence_as_of=now,
                duration_hours=body.duration_hours,
            ),
            now,
        )
        non_liftable = any(r.reason_class is ReasonClass.NON_LIFTABLE for r in restrictions)
        if not non_liftable:  # non-liftable targets are rejected by policy, whoever asks
            authorize(
                uow,
                env,
                principal=actor,
                action="submit_request",
                subject=f"account:{account.id}",
                resource=RequestResource(
                    id=request_id,
                    requester=actor.id,
                    account_id=account.id,
                    kind=body.kind,
                    reasons=frozenset(r.reason for r in restrictions),
                    binding_types=frozenset(
                        b.type for b in account.bindings if b.id in body.targets
                    ),
                    clause_roles=frozenset(),
                ),
            )
        request = _new_request(request_id, body, actor, now, idempotency_key, a.decision, a.digest)
        request.settle_decision(now)
        if request.is_open:
            holder = uow.requests.open_request_on(body.targets)
            if holder is not None:
                raise Conflict(f"an open request ({holder}) already targets this")
        uow.requests.add(request, a.facts)
        if request.is_open:
            uow.requests.hold_targets(request.id, body.targets)
        if request.status == "approved":
            uow.jobs.enqueue(env.ids("job"), request.id, now)
        audit.request_event(
            uow,
            request,
            actor=actor.id,
            action="request:submitted",
            at=now,
            extra={"facts": a.facts},
        )
        uow.commit()
        return request


def _account(uow: UnitOfWork, account_id: str) -> Account:
    account = uow.accounts.get(account_id)
    if account is None:
        raise ValidationFailed(f"account_id: unknown account {account_id}", field="account_id")
    return account


def _check_active(account: Account, target_ids: list[str]) -> None:
    for tid in target_ids:
        r, b = account.restriction(tid), account.binding(tid)
        status = r.status if r is not None else b.status if b is not None else "missing"
        if status not in ("active", "bound"):
            raise ValidationFailed(f"targets: {tid} is {status}, not active", field="targets")


def _new_request(
    request_id: str,
    body: NewRequest,
    actor: Principal,
    now: datetime,
    idempotency_key: str | None,
    decision: Decision,
    digest: str,
) -> Request:
    return Request(
        id=request_id,
        kind=body.kind,
        account_id=body.account_id,
        targets=list(body.targets),
        requester=actor.id,
        justification=body.justification,
        evidence=list(body.evidence),
        created_at=now,
        decision=decision,
        state_digest=digest,
        ticket=body.ticket,
        duration_hours=body.duration_hours,
        updated_at=now,
        evidence_as_of=now,
        idempotency_key=idempotency_key,
        body_hash=body.fingerprint(),
    )
