"""The reviewers' console: the queue, claims, "take next", and one screen per request.

Every read goes through the same Cedar actions as the API; the console adds no power of its own.
The buttons a page shows come from `approval_blocker`, but the server decides again on each POST.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from thawgate.adapters.db.console_repo import AuditRow, QueueFilter, QueueRow
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.catalog import Reason
from thawgate.domain.clauses import check_floor, choose_clause, live_approvals
from thawgate.domain.errors import Conflict, DomainError, NotFound
from thawgate.domain.model import Account, AccountEvent, Principal
from thawgate.domain.need_to_know import is_cleared, is_sensitive, restricted_owners
from thawgate.domain.request import Request
from thawgate.services import queries
from thawgate.services.env import Env, actor_of, authorize
from thawgate.services.review import request_resource

# Risk bands shown in the queue: (name, lowest score, highest score), inclusive.
BANDS: tuple[tuple[str, int, int], ...] = (
    ("low", 0, 29),
    ("medium", 30, 69),
    ("high", 70, 89),
    ("extreme", 90, 100),
)
CLAIM_TTL = timedelta(minutes=30)
# "Take next" never hands a reviewer a request from a requester whose requests they approved this
# often in the last week: picking the item yourself is how a colluding pair would meet.
COLLUSION_WINDOW = timedelta(days=7)
COLLUSION_LIMIT = 3
TAKE_NEXT_BATCH = 50  # candidates read and checked together
TAKE_NEXT_MAX = 2_000  # candidates examined per "take next" at most
TIMELINE_DAYS = 30
PAGE_SIZES = (25, 50, 100)


def band_of(score: int) -> str:
    return next((name for name, low, high in BANDS if low <= score <= high), "extreme")


def band_range(name: str) -> tuple[int, int] | None:
    return next(((low, high) for n, low, high in BANDS if n == name), None)


def visible_code(viewer: Principal, code: str) -> bool:
    """Whether this viewer may see a reason code (binding types are never hidden)."""
    return code not in Reason.__members__ or is_cleared(viewer) or not is_sensitive(code)


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    counts: dict[str, int]
    page: int
    page_size: int
    teams: list[str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def queue_page(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    filters: QueueFilter,
    sort: str,
    page: int,
    page_size: int,
) -> QueuePage:
    with uow:
        queries.authorize_list(uow, env, actor)
        if queries.only_own(actor):
            filters = dataclasses.replace(filters, requester=actor.id)
        if filters.reason and not visible_code(actor, filters.reason):
            filters = dataclasses.replace(filters, reason=None)  # no probing for hidden reasons
        counts = uow.console.status_counts(filters)
        total = sum(n for s, n in counts.items() if not filters.statuses or s in filters.statuses)
        page = min(max(page, 1), max(1, -(-total // page_size)))
        rows = uow.console.queue(filters, sort=sort, offset=(page - 1) * page_size, limit=page_size)
        return QueuePage(rows, total, counts, page, page_size, sorted(uow.console.teams()))


def claim(uow: UnitOfWork, env: Env, *, actor: Principal, request_id: str) -> datetime:
    """Claim a request for CLAIM_TTL; refused (409) while another reviewer holds it."""
    with uow:
        request = _authorized_claim(uow, env, actor, request_id)
        now = env.clock()
        until = now + CLAIM_TTL
        if not uow.console.claim(request.id, actor.id, now, until):
            held = uow.console.claim_of(request.id)
            who = held[0] if held else "another reviewer"
            raise Conflict(f"{who} is working this request; it is theirs until the claim lapses")
        _claim_event(uow, actor, request.id, "request:claim:taken", now, until)
        uow.commit()
        return until


def release(uow: UnitOfWork, env: Env, *, actor: Principal, request_id: str) -> None:
    with uow:
        request = _authorized_claim(uow, env, actor, request_id)
        if not uow.console.release(request.id, actor.id):
            raise Conflict("you hold no claim on this request")
        _claim_event(uow, actor, request.id, "request:claim:released", env.clock(), None)
        uow.commit()


def take_next(uow: UnitOfWork, env: Env, *, actor: Principal) -> str | None:
    """Claim a random pending request this reviewer may act on; None when there is none.

    Requesters whose requests this reviewer approved COLLUSION_LIMIT or more times in the last
    COLLUSION_WINDOW are never handed out. Candidates come in a random order and are checked
    TAKE_NEXT_BATCH at a time, up to TAKE_NEXT_MAX, so a queue full of requests this reviewer
    cannot approve still yields the one they can."""
    with uow:
        now = env.clock()
        often = uow.console.approvals_by(actor.id, now - COLLUSION_WINDOW)
        excluded = {r for r, n in often.items() if n >= COLLUSION_LIMIT}
        candidates = uow.console.random_eligible(
            reviewer=actor.id, excluded_requesters=excluded, now=now, sample=TAKE_NEXT_MAX
        )
        for start in range(0, len(candidates), TAKE_NEXT_BATCH):
            batch = candidates[start : start + TAKE_NEXT_BATCH]
            found = uow.requests.get_many(batch)
            accounts = uow.accounts.get_many(sorted({r.account_id for r in found.values()}))
            for rid in batch:
                request = found.get(rid)
                if request is None:
                    continue
                account = accounts.get(request.account_id)
                placers = _placers(account, set(request.targets)) if account else set()
                if approval_blocker(env, actor, request, placers, now) is not None:
                    continue
                may_claim = env.authorizer.authorize(  # as the Claim button: claim_request
                    actor_of(actor), "claim_request", request_resource(request)
                )
                if not may_claim.allowed:
                    continue
                if uow.console.claim(rid, actor.id, now, now + CLAIM_TTL):
                    _claim_event(uow, actor, rid, "request:claim:taken", now, now + CLAIM_TTL)
                    uow.commit()
                    return rid
        return None


def _placers(account: Account, targets: set[str]) -> set[str]:
    """Who placed or amended the restrictions a request lifts (floor item 2)."""
    return {p for r in account.restrictions if r.id in targets for p in r.placers}


def _authorized_claim(uow: UnitOfWork, env: Env, actor: Principal, request_id: str) -> Request:
    request = uow.requests.get(request_id)
    if request is None:
        raise NotFound(f"no request {request_id}")
    authorize(
        uow,
        env,
        principal=actor,
        action="claim_request",
        subject=f"request:{request.id}",
        resource=request_resource(request),
    )
    return request


def _claim_event(
    uow: UnitOfWork, actor: Principal, rid: str, action: str, at: datetime, until: datetime | None
) -> None:
    data: dict[str, object] = {"request_id": rid}
    if until is not None:
        data["until"] = until.isoformat()
    uow.audit.append(at=at, actor=actor.id, action=action, subject=f"request:{rid}", data=data)


def approval_blocker(
    env: Env, actor: Principal, request: Request, placers: set[str], now: datetime
) -> str | None:
    """Why this principal could not approve this request now, in words; None if they could.

    A dry run of the checks `review.approve` makes (the floor, the clause fit, Cedar); it
    records nothing. The server still checks everything again when the form is posted."""
    if request.status != "pending_approval":
        return f"the request is {request.status}; only a pending request takes approvals"
    approvals = live_approvals(request.approvals, now)
    try:
        check_floor(
            approver=actor, requester=request.requester, placers=placers, approvals=approvals
        )
        choose_clause(
            approver=actor,
            clauses=request.decision.required_approvals,
            min_teams=request.decision.min_teams,
            approvals=approvals,
        )
    except DomainError as exc:
        return exc.detail
    decision = env.authorizer.authorize(
        actor_of(actor), "approve_request", request_resource(request)
    )
    return None if decision.allowed else "your roles may not approve this request"


@dataclass(frozen=True, slots=True)
class RequestView:
    request: Request
    account: Account
    events: list[AccountEvent]
    history: list[AuditRow]
    approve_blocker: str | None
    may_review: bool  # reject / ask for info
    claim: tuple[str, datetime] | None
    requester: Principal | None
    now: datetime
    targets: set[str] = field(default_factory=set)
    # Need to know: the owning teams of the sensitive targets this viewer may not see the reason
    # of (empty: nothing hidden). The page then shows RESTRICTED instead of rules and reasons.
    hidden_owners: list[str] = field(default_factory=list)


def request_view(uow: UnitOfWork, env: Env, *, actor: Principal, request_id: str) -> RequestView:
    """Everything a reviewer needs to judge one request, read in one transaction."""
    with uow:
        request = uow.requests.get(request_id)
        if request is None:
            raise NotFound(f"no request {request_id}")
        resource = request_resource(request)
        authorize(
            uow,
            env,
            principal=actor,
            action="read_request",
            subject=f"request:{request.id}",
            resource=resource,
        )
        account = uow.accounts.get(request.account_id)
        if account is None:
            raise NotFound(f"no account {request.account_id}")
        now = env.clock()
        targets = set(request.targets)
        placers = _placers(account, targets)
        may_review = request.status in ("pending_approval", "needs_info") and (
            env.authorizer.authorize(actor_of(actor), "reject_request", resource).allowed
        )
        return RequestView(
            request=request,
            account=account,
            events=uow.accounts.events(account.id, since=now - timedelta(days=TIMELINE_DAYS)),
            history=uow.console.audit_events(
                actor=None, subject=f"request:{request.id}", action=None, before_seq=None, limit=100
            ),
            approve_blocker=approval_blocker(env, actor, request, placers, now),
            may_review=may_review,
            claim=uow.console.claim_of(request.id),
            requester=uow.principals.get(request.requester),
            now=now,
            targets=targets,
            hidden_owners=restricted_owners(
                actor, [r.reason for r in account.restrictions if r.id in targets]
            ),
        )
