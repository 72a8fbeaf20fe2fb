"""Execution: only the system applies an approved plan, exactly once.

A worker claims jobs from the outbox (a lease, with SKIP LOCKED on PostgreSQL), then, per job, in
one transaction: re-evaluates the request on the current state, compare-and-swaps every target on
the version that was reviewed, records the outcome and settles the job. A crash before the commit
leaves nothing behind; the lease runs out and another worker tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.decision import PlanOp
from thawgate.domain.errors import Conflict
from thawgate.domain.model import Restriction
from thawgate.domain.request import Request
from thawgate.services import audit
from thawgate.services.env import Env
from thawgate.services.review import reassess, settle_reassessment

SYSTEM = "system"
BACKOFF = (timedelta(seconds=1), timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2))


class VersionChanged(Exception):
    """A compare-and-swap found a different version: the state moved under the plan."""


@dataclass(frozen=True, slots=True)
class RunResult:
    claimed: int
    executed: int
    stale_or_rejected: int
    retried: int
    failed: int


def run_once(
    make_uow: Callable[[], UnitOfWork], env: Env, *, worker: str, lease: timedelta, batch: int
) -> RunResult:
    """Claim up to `batch` jobs and settle each. Returns what happened."""
    with make_uow() as uow:
        jobs = uow.jobs.claim(worker, env.clock(), lease, batch)
        uow.commit()
    tally = {"executed": 0, "moved": 0, "retried": 0, "failed": 0}
    for job in jobs:
        outcome = _settle_job(make_uow(), env, job.id, job.request_id, job.attempts, worker)
        tally[outcome] += 1
    return RunResult(
        len(jobs), tally["executed"], tally["moved"], tally["retried"], tally["failed"]
    )


def _settle_job(
    uow: UnitOfWork, env: Env, job_id: str, request_id: str, attempts: int, worker: str
) -> str:
    try:
        with uow:
            outcome = execute_request(uow, env, request_id)
            if not uow.jobs.finish(job_id, worker, "done"):
                return "retried"  # the lease was lost: another worker owns it now
            env.fault_point("before_commit")
            uow.commit()
            return outcome
    except (OperationalError, VersionChanged) as exc:
        return _retry_or_fail(
            UnitOfWork(uow.engine),
            env,
            job_id,
            request_id,
            attempts,
            worker,
            f"{type(exc).__name__}: {exc}",
        )


def execute_request(uow: UnitOfWork, env: Env, request_id: str) -> str:
    request = uow.requests.get(request_id, for_update=True)
    if request is None or request.status != "approved":
        return "moved"  # withdrawn, rejected or already executed: nothing to apply
    a = reassess(uow, env, request)
    if settle_reassessment(uow, env, request, a, actor=SYSTEM):
        return "moved"
    now = env.clock()
    env.fault_point("before_apply")
    placed = [_apply(uow, env, request, op) for op in request.decision.plan]
    env.fault_point("after_apply")
    request.mark_executed(now)
    uow.requests.release_targets(request.id)
    if not uow.requests.save(request):
        raise VersionChanged(f"request {request.id} changed during execution")
    audit.request_event(
        uow,
        request,
        actor=SYSTEM,
        action="request:executed",
        at=now,
        extra={
            "plan": [op.as_dict() for op in request.decision.plan],
            "placed": [p for p in placed if p],
        },
    )
    return "executed"


def _apply(uow: UnitOfWork, env: Env, request: Request, op: PlanOp) -> str | None:
    """Apply one operation with compare-and-swap. Returns a placed restriction's id."""
    now = env.clock()
    if op.op == "place_restriction":
        if op.scope is None or op.reason is None or not op.duration_hours:
            raise Conflict(f"plan of {request.id} has an incomplete place_restriction op")
        rid = env.ids("rst")
        uow.accounts.add_restriction(
            Restriction(
                id=rid,
                account_id=request.account_id,
                scope=op.scope,
                reason=op.reason,
                placed_by=SYSTEM,
                placed_at=now,
                expires_at=now + timedelta(hours=op.duration_hours),
                note=f"placed by the plan of {request.id}",
            ),
            now,
        )
        uow.audit.append(
            at=now,
            actor=SYSTEM,
            action="restriction:placed",
            subject=f"restriction:{rid}",
            data={
                "request_id": request.id,
                "scope": op.scope,
                "reason": op.reason,
                "duration_hours": op.duration_hours,
            },
        )
        return rid
    account = uow.accounts.get(request.account_id)
    if account is None or op.target is None or op.expected_version is None:
        raise Conflict(f"plan of {request.id} names a missing account or an incomplete op")
    if op.op == "lift_restriction":
        r = account.restriction(op.target)
        if r is None or r.version != op.expected_version:
            raise VersionChanged(f"{op.target} is not at version {op.expected_version}")
        r.lift()
        ok = uow.accounts.save_restriction(
            r, expected_version=op.expected_version, now=now, lifted_by=request.id
        )
        action = "restriction:lifted"
    else:
        b = account.binding(op.target)
        if b is None or b.version != op.expected_version:
            raise VersionChanged(f"{op.target} is not at version {op.expected_version}")
        b.remove()
        ok = uow.accounts.save_binding(b, expected_version=op.expected_version, now=now)
        action = "binding:removed"
    if not ok:
        raise VersionChanged(f"{op.target} changed between the check and the write")
    uow.audit.append(
        at=now,
        actor=SYSTEM,
        action=action,
        subject=op.target,
        data={"request_id": request.id, "expected_version": op.expected_version},
    )
    return None


def _retry_or_fail(
    uow: UnitOfWork, env: Env, job_id: str, request_id: str, attempts: int, worker: str, error: str
) -> str:
    with uow:
        now = env.clock()
        if attempts < env.job_max_attempts:
            delay = BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
            uow.jobs.retry_later(job_id, worker, now + delay, error)
            uow.commit()
            return "retried"
        request = uow.requests.get(request_id, for_update=True)
        if request is not None and request.status == "approved":
            request.mark_failed(now, error)
            uow.requests.release_targets(request.id)
            if not uow.requests.save(request):
                raise Conflict(f"request {request_id} changed while failing it")
            audit.request_event(uow, request, actor=SYSTEM, action="request:failed", at=now)
        uow.jobs.finish(job_id, worker, "failed", error)
        uow.commit()
        return "failed"
