"""Access reviews: every active grant, grouped by role and team, with its expiry and last use;
a reviewer confirms or revokes each; a confirmation lapses after a configurable period
(`THAWGATE_ACCESS_REVIEW_DAYS`), after which the grant is listed as overdue.

Each verdict is an `access_reviews` row and an audit event, in the same transaction as the
change it records. For the CLI (`thawgate access review`) and, later, the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import ValidationFailed
from thawgate.domain.grants import Grant
from thawgate.domain.model import Principal
from thawgate.services import grants
from thawgate.services.env import Env, authorize
from thawgate.services.grants import GRANTS

DEFAULT_PERIOD = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class ReviewItem:
    grant: Grant
    team: str  # the grantee's team
    last_used_at: datetime | None
    last_reviewed_at: datetime | None
    review_due_at: datetime
    overdue: bool


@dataclass(frozen=True, slots=True)
class ReviewGroup:
    role: str
    team: str
    items: list[ReviewItem]


def list_for_review(
    uow: UnitOfWork, env: Env, *, actor: Principal, period: timedelta = DEFAULT_PERIOD
) -> list[ReviewGroup]:
    """Every active grant, grouped by role then the grantee's team (access admins, auditors)."""
    with uow:
        authorize(
            uow, env, principal=actor, action="read_grants", resource=GRANTS, subject="grants"
        )
        now = env.clock()
        active = [g for g in uow.grants.with_status("active") if g.is_effective(now)]
        teams = {
            pid: p.team
            for pid, p in uow.principals.get_many(sorted({g.principal_id for g in active})).items()
        }
        used = uow.grants.last_used([g.id for g in active])
    groups: dict[tuple[str, str], list[ReviewItem]] = {}
    for g in active:
        team = teams.get(g.principal_id, "unknown")
        base = g.reviewed_at or g.approved_at or g.proposed_at
        due = base + period
        item = ReviewItem(g, team, used.get(g.id), g.reviewed_at, due, due <= now)
        groups.setdefault((g.role, team), []).append(item)
    return [
        ReviewGroup(role, team, sorted(items, key=lambda i: (i.grant.principal_id, i.grant.id)))
        for (role, team), items in sorted(groups.items())
    ]


def overdue(groups: list[ReviewGroup]) -> list[ReviewItem]:
    return [i for g in groups for i in g.items if i.overdue]


def confirm(uow: UnitOfWork, env: Env, *, actor: Principal, grant_id: str, comment: str) -> Grant:
    """Keep the grant: its review clock starts again. Never by the grantee."""
    with uow:
        grant = grants.load_for(uow, env, actor=actor, action="review_grants", grant_id=grant_id)
        now = env.clock()
        with grants.refusal_audited(uow, env, actor=actor, grant=grant):
            grant.confirm(by=actor.id, at=now)
        grants.save(uow, grant)
        _record(uow, env, grant, actor=actor, verdict="confirm", comment=comment, at=now)
        uow.commit()
        return grant


def revoke(uow: UnitOfWork, env: Env, *, actor: Principal, grant_id: str, comment: str) -> Grant:
    """Revoke on review: the same one-key revocation, recorded as a review verdict."""
    with uow:
        grant = grants.load_for(uow, env, actor=actor, action="review_grants", grant_id=grant_id)
        now = env.clock()
        grants.revoke_in(uow, env, grant, actor=actor, comment=comment, access_review=True)
        _record(uow, env, grant, actor=actor, verdict="revoke", comment=comment, at=now)
        uow.commit()
        return grant


def _record(
    uow: UnitOfWork,
    env: Env,
    grant: Grant,
    *,
    actor: Principal,
    verdict: str,
    comment: str,
    at: datetime,
) -> None:
    if not comment.strip():
        raise ValidationFailed("comment: say why", field="comment")
    review_id = env.ids("review")
    uow.grants.add_review(review_id, grant.id, actor.id, verdict, comment, at)
    uow.audit.append(
        at=at,
        actor=actor.id,
        action=f"access-review:{verdict}",
        subject=f"grant:{grant.id}",
        data={
            "review_id": review_id,
            "grant_id": grant.id,
            "principal": grant.principal_id,
            "role": grant.role,
            "comment": comment,
        },
    )
