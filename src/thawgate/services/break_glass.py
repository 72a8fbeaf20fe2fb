"""Break-glass (POLICY.md floor item 10, docs/authority.md "Break-glass").

A senior fraud reviewer fills one missing fraud clause of one request in an emergency. What it
bends is the distinct-teams rule (floor item 4) for the clause it fills: nothing else. Items 1-3
hold, it never touches a regulatory, legal_hold or non_liftable restriction, it needs a
justification, it is limited to `settings.break_glass_per_day` uses per person in 24 h, it
raises a critical alert, and it opens a mandatory review by a second senior fraud reviewer that
stays open (on the dashboard, `GET /v1/break-glass?open=true`) until done. All of it in the same
transaction as the approval it records.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain import break_glass as rules
from thawgate.domain.break_glass import BreakGlass
from thawgate.domain.clauses import check_floor, open_clauses
from thawgate.domain.errors import (
    Conflict,
    Forbidden,
    NotFound,
    SeparationOfDuties,
    Stale,
    ValidationFailed,
)
from thawgate.domain.model import Principal
from thawgate.domain.request import Request
from thawgate.policy.authz import RequestResource, SystemResource
from thawgate.services import alerts, audit, review
from thawgate.services.approval_backing import void_unbacked
from thawgate.services.env import Env, authorize, refuse

BREAK_GLASS = SystemResource("break_glass")


@dataclass(frozen=True, slots=True)
class OpenBreakGlassReview:
    """One break-glass still waiting for its after-the-fact review (the console dashboard)."""

    id: str
    request_id: str
    principal: str
    at: datetime
    justification: str


def break_glass(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    request_id: str,
    justification: str,
    state_digest: str | None = None,
) -> tuple[Request, BreakGlass]:
    """Fill one missing fraud clause of `request_id` as `actor`, in an emergency."""
    text = rules.check_justification(justification)
    with uow:
        request = review.load_for_update(uow, request_id)
        if request.status != "pending_approval":
            raise Conflict(f"request {request.id} is {request.status}, not pending_approval")
        now = env.clock()
        a = review.reassess(uow, env, request, approver=actor.id)
        clauses = request.decision.required_approvals
        open_roles = set(open_clauses(clauses, request.approvals)) or {c.role for c in clauses}
        authorize(
            uow,
            env,
            principal=actor,
            action="break_glass",
            subject=f"request:{request.id}",
            resource=RequestResource(
                id=request.id,
                requester=request.requester,
                account_id=request.account_id,
                kind=request.kind,
                reasons=frozenset(a.reasons),
                binding_types=frozenset(a.binding_types),
                clause_roles=frozenset(open_roles),
            ),
        )
        with _refusals_audited(uow, env, actor, request.id):
            check_floor(
                approver=actor,
                requester=request.requester,
                placers=a.placers,
                approvals=request.approvals,
            )
            rules.check_targets(a.reason_classes)
        if state_digest is not None and state_digest != request.state_digest:
            raise Stale("the request changed since you looked at it; review the new state")
        used = uow.break_glass.count_since(actor.id, now - rules.WINDOW)
        with _refusals_audited(uow, env, actor, request.id):
            rules.check_daily_limit(used, env.policy.break_glass_per_day)
        if review.settle_reassessment(uow, env, request, a, actor=actor.id):
            uow.commit()
            raise Stale(
                f"the request changed since it was reviewed ({request.status_reason}); "
                "its approvals were cleared"
            )
        void_unbacked(uow, env, request, actor=actor.id)
        with _refusals_audited(uow, env, actor, request.id):
            approval = request.add_break_glass_approval(
                approver=actor, placers=a.placers, comment=text, now=now
            )
        review.save_or_conflict(uow, request)
        record_id = env.ids("bg")
        alert = alerts.raise_alert(
            uow,
            env,
            kind="break_glass",
            severity="critical",
            subject=f"request:{request.id}",
            request_id=request.id,
            data={
                "break_glass_id": record_id,
                "principal": actor.id,
                "team": actor.team,
                "clause": approval.role,
                "justification": text,
                "uses_in_24h": used + 1,
            },
        )
        record = BreakGlass(
            id=record_id,
            request_id=request.id,
            principal=actor.id,
            team=actor.team,
            clause=approval.role,
            justification=text,
            at=now,
            alert_id=alert.id,
        )
        uow.break_glass.add(record)
        audit.request_event(
            uow,
            request,
            actor=actor.id,
            action="request:break-glass",
            at=now,
            extra={
                "approval": approval.as_dict(),
                "break_glass_id": record.id,
                "alert_id": alert.id,
                "justification": text,
            },
        )
        if request.status == "approved":
            review.release_for_execution(uow, env, request)
        uow.commit()
        return request, record


def review_use(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    break_glass_id: str,
    verdict: str,
    comment: str,
) -> BreakGlass:
    """The mandatory after-the-fact review, by a second senior fraud reviewer. A `misuse`
    verdict raises a critical alert of its own."""
    with uow:
        authorize(
            uow,
            env,
            principal=actor,
            action="review_break_glass",
            resource=BREAK_GLASS,
            subject=f"break-glass:{break_glass_id}",
        )
        if not comment.strip():
            raise ValidationFailed("comment: say what the review found", field="comment")
        record = uow.break_glass.get(break_glass_id, for_update=True)
        if record is None:
            raise NotFound(f"no break-glass {break_glass_id}")
        now = env.clock()
        with _refusals_audited(uow, env, actor, record.request_id, f"break-glass:{record.id}"):
            record.review(by=actor, verdict=verdict, comment=comment, at=now)
        if not uow.break_glass.close_review(record):
            raise Conflict(f"break-glass {record.id} was reviewed concurrently")
        if verdict == "misuse":
            alerts.raise_alert(
                uow,
                env,
                kind="break_glass_misuse",
                severity="critical",
                subject=f"break-glass:{record.id}",
                request_id=record.request_id,
                data={"break_glass_id": record.id, "principal": record.principal, "by": actor.id},
            )
        uow.audit.append(
            at=now,
            actor=actor.id,
            action="break-glass:reviewed",
            subject=f"break-glass:{record.id}",
            data={
                "request_id": record.request_id,
                "principal": record.principal,
                "verdict": verdict,
                "comment": comment,
            },
        )
        uow.commit()
        return record


def list_uses(
    uow: UnitOfWork, env: Env, *, actor: Principal, open_only: bool = False
) -> list[BreakGlass]:
    with uow:
        authorize(
            uow,
            env,
            principal=actor,
            action="read_break_glass",
            resource=BREAK_GLASS,
            subject="break-glass",
        )
        return uow.break_glass.listing(open_only=open_only)


def open_break_glass_reviews(uow: UnitOfWork) -> list[OpenBreakGlassReview]:
    """Every break-glass whose after-the-fact review is not done, newest first. For the console
    dashboard, which authorizes its viewer itself."""
    with uow:
        return [
            OpenBreakGlassReview(r.id, r.request_id, r.principal, r.at, r.justification)
            for r in uow.break_glass.listing(open_only=True)
        ]


@contextmanager
def _refusals_audited(
    uow: UnitOfWork, env: Env, actor: Principal, request_id: str, subject: str | None = None
) -> Iterator[None]:
    """A floor refusal (separation-of-duties) or the daily limit (forbidden) is recorded in its
    own commit before it is raised."""
    try:
        yield
    except SeparationOfDuties as exc:
        data: dict[str, object] = {"floor_item": exc.floor_item, "detail": exc.detail}
        _refuse(uow, env, actor, subject or f"request:{request_id}", "separation-of-duties", data)
        raise
    except Forbidden as exc:
        data = {"action": "break_glass", "detail": exc.detail, "policies": list(exc.policy_ids)}
        _refuse(uow, env, actor, subject or f"request:{request_id}", "forbidden", data)
        raise


def _refuse(
    uow: UnitOfWork, env: Env, actor: Principal, subject: str, slug: str, data: dict[str, object]
) -> None:
    refuse(uow, env, principal=actor, subject=subject, slug=slug, data=data)
