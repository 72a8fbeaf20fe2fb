"""Execution: only the system applies an approved plan, exactly once.

A worker claims jobs from the outbox (a lease; SKIP LOCKED on PostgreSQL), then settles each job in
one transaction: re-evaluate the request on the current state, apply every operation through the
account-system port on the version that was reviewed (with an idempotency key per operation that
every retry reuses), mirror the result, record the outcome and settle the job.

- A crash before the commit leaves nothing in Thawgate's database; the lease runs out, another
  worker re-runs the job, and the account system replays the keyed operations it already applied.
- An unknown outcome (a timeout) is settled by reading the target, never by a new key.
- A version that moved underneath sends the request back to review ("stale").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from thawgate.adapters.db.jobs_repo import Job
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.decision import PlanOp
from thawgate.domain.errors import Conflict
from thawgate.domain.model import Restriction
from thawgate.domain.request import Request
from thawgate.services import audit
from thawgate.services.approval_backing import void_unbacked
from thawgate.services.env import Env
from thawgate.services.ports import (
    AccountSystem,
    AccountSystemUnavailable,
    TargetState,
    UnknownOutcome,
    VersionConflict,
)
from thawgate.services.prefetch import Prefetched, prefetch
from thawgate.services.review import reassess, settle_reassessment

SYSTEM = "system"
BACKOFF = (timedelta(seconds=1), timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2))
SETTLE_TRIES = 3


@dataclass(frozen=True, slots=True)
class RunResult:
    claimed: int
    executed: int
    stale_or_rejected: int
    retried: int
    failed: int


class _LeaseLost(Exception):
    """A job's lease ran out and another worker claimed it: leave it to them."""


TROUBLE = (
    VersionConflict,
    OperationalError,
    AccountSystemUnavailable,
    UnknownOutcome,
    Conflict,
    _LeaseLost,
)


def run_once(
    make_uow: Callable[[], UnitOfWork], env: Env, *, worker: str, lease: timedelta, batch: int
) -> RunResult:
    """Claim up to `batch` jobs and settle them in one transaction.

    One commit for the batch: all of it lands or none does (a crash leaves the jobs to be
    re-claimed when the lease runs out). If any job of the batch runs into trouble, the batch is
    rolled back whole and its jobs are settled one transaction each, where each trouble is
    handled on its own (retry, stale, or failed). A remote account system sees the same
    idempotency keys again, and replays.
    """
    with make_uow() as uow:
        jobs = uow.jobs.claim(worker, env.clock(), lease, batch)
        uow.commit()
    if not jobs:
        return RunResult(0, 0, 0, 0, 0)
    tally = {"executed": 0, "moved": 0, "retried": 0, "failed": 0}
    try:
        with make_uow() as uow:
            uow.audit.defer()  # lock the log's head only at the commit
            batch_reads = prefetch(uow, [j.request_id for j in jobs], env.clock())
            outcomes = [execute_request(uow, env, j.request_id, batch_reads) for j in jobs]
            uow.requests.release_targets_of(batch_reads.executed)
            if not uow.jobs.finish_many([j.id for j in jobs], worker):
                raise _LeaseLost("a lease ran out during the batch")
            env.fault_point("before_commit")
            uow.commit()
        for outcome in outcomes:
            tally[outcome] += 1
    except TROUBLE:
        for job in jobs:
            tally[_settle_alone(make_uow, env, job, worker)] += 1
    return RunResult(
        len(jobs), tally["executed"], tally["moved"], tally["retried"], tally["failed"]
    )


def _settle_alone(make_uow: Callable[[], UnitOfWork], env: Env, job: Job, worker: str) -> str:
    """One job, one transaction: the path for a batch that ran into trouble."""
    try:
        with make_uow() as uow:
            outcome = execute_request(uow, env, job.request_id)
            if not uow.jobs.finish(job.id, worker, "done"):
                return "retried"  # another worker owns the job now
            env.fault_point("before_commit")
            uow.commit()
            return outcome
    except TROUBLE as trouble:
        return _settle_trouble(make_uow, env, job, worker, trouble)


def _settle_trouble(
    make_uow: Callable[[], UnitOfWork], env: Env, job: Job, worker: str, exc: Exception
) -> str:
    if isinstance(exc, VersionConflict):
        return _go_stale(make_uow(), env, job.id, job.request_id, worker, exc)
    error = f"{type(exc).__name__}: {exc}"
    return _retry_or_fail(make_uow(), env, job.id, job.request_id, job.attempts, worker, error)


def execute_request(
    uow: UnitOfWork, env: Env, request_id: str, batch_reads: Prefetched | None = None
) -> str:
    if batch_reads is not None and batch_reads.covers(request_id):
        request: Request | None = batch_reads.requests[request_id]
    else:
        request, batch_reads = uow.requests.get(request_id, for_update=True), None
    if request is None or request.status != "approved":
        return "moved"  # withdrawn, rejected or already executed: nothing to apply
    known = batch_reads.principals if batch_reads is not None else None
    if void_unbacked(uow, env, request, actor=SYSTEM, known=known):
        return "moved"  # an approval's grant lapsed or was revoked: back to review (item 8)
    if batch_reads is None:
        a = reassess(uow, env, request)
    else:
        a = reassess(
            uow,
            env,
            request,
            account=batch_reads.accounts[request.account_id],
            requester=batch_reads.principals.get(request.requester),
            source=batch_reads.facts,
        )
    if settle_reassessment(uow, env, request, a, actor=SYSTEM):
        return "moved"
    now = env.clock()
    system = env.account_system(uow, now)
    env.fault_point("before_apply")
    plan = request.decision.plan
    placed = [_apply(uow, env, system, request, i, op, now) for i, op in enumerate(plan)]
    env.fault_point("after_apply")
    request.mark_executed(now)
    if batch_reads is not None:
        batch_reads.executed.append(request.id)  # their targets are released in one statement
    else:
        uow.requests.release_targets(request.id)
    if not uow.requests.save_status(request):
        raise Conflict(f"request {request.id} changed during execution")
    audit.request_event(
        uow,
        request,
        actor=SYSTEM,
        action="request:executed",
        at=now,
        extra={
            "plan": [op.as_dict() for op in request.decision.plan],
            "placed": [p for p in placed if p],
            "account_system": system.name,
        },
    )
    return "executed"


def op_key(request: Request, index: int) -> str:
    """The idempotency key of one operation: the same on every retry of the same plan."""
    return f"{request.id}:{request.stale_count}:{index}"


def _apply(
    uow: UnitOfWork,
    env: Env,
    system: AccountSystem,
    request: Request,
    index: int,
    op: PlanOp,
    now: datetime,
) -> str | None:
    """Apply one operation. Returns a placed restriction's id."""
    key = op_key(request, index)
    if op.op == "place_restriction":
        if op.scope is None or op.reason is None or not op.duration_hours:
            raise Conflict(f"plan of {request.id} has an incomplete place_restriction op")
        rid = f"{request.id}-p{request.stale_count}-{index}"
        expires = now + timedelta(hours=op.duration_hours)
        place_linked(
            uow,
            system,
            request,
            rid,
            key,
            scope=op.scope,
            reason=op.reason,
            now=now,
            expires=expires,
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
                "expires_at": expires.isoformat(),
            },
        )
        return rid
    target, expected = op.target, op.expected_version
    if target is None or expected is None:
        raise Conflict(f"plan of {request.id} has an op without a target or version")
    if op.op == "lift_restriction":
        version = settle(
            system,
            target,
            expected,
            key,
            lambda: system.lift_restriction(
                restriction_id=target, expected_version=expected, key=key
            ),
        )
        _mirror(uow, system, target, version, "lifted", now, lifted_by=request.id)
        if op.duration_hours:
            _schedule_relock(uow, env, request, target, op.duration_hours)
        action = "restriction:lifted"
    else:
        version = settle(
            system,
            target,
            expected,
            key,
            lambda: system.remove_binding(binding_id=target, expected_version=expected, key=key),
        )
        _mirror(uow, system, target, version, "removed", now)
        action = "binding:removed"
    uow.audit.append(
        at=now,
        actor=SYSTEM,
        action=action,
        subject=target,
        data={
            "request_id": request.id,
            "expected_version": expected,
            "version": version,
            "key": key,
        },
    )
    return None


def settle(
    system: AccountSystem, target: str, expected: int | None, key: str, call: Callable[[], int]
) -> int:
    """Call; on an unknown outcome, read the target and decide. Never a new key."""
    for _ in range(SETTLE_TRIES):
        try:
            return call()
        except UnknownOutcome:
            state = system.read(target)
            if state is not None and state.last_key == key:
                return state.version  # it was applied: the lost response said so
            if expected is not None and state is not None and state.version != expected:
                raise VersionConflict(target, state) from None
            # not applied yet (or nothing to read): call again with the same key
    raise UnknownOutcome(f"{target}: outcome still unknown after {SETTLE_TRIES} tries")


def _mirror(
    uow: UnitOfWork,
    system: AccountSystem,
    target: str,
    version: int,
    status: str,
    now: datetime,
    lifted_by: str | None = None,
) -> None:
    if system.name == "local":
        return  # the local account system is the mirror: already written
    uow.accounts.sync_target(target, version, status, now)
    if lifted_by is not None:
        uow.accounts.mark_lifted_by(target, lifted_by)


def place_linked(
    uow: UnitOfWork,
    system: AccountSystem,
    request: Request,
    rid: str,
    key: str,
    *,
    scope: str,
    reason: str,
    now: datetime,
    expires: datetime | None,
) -> None:
    """Place restriction `rid` on the request's account through the account-system port (an
    unknown outcome is settled, never retried under a new key), and mirror it here."""
    settle(
        system,
        rid,
        None,
        key,
        lambda: system.place_restriction(
            account_id=request.account_id,
            restriction_id=rid,
            scope=scope,
            reason=reason,
            expires_at=expires,
            key=key,
        ),
    )
    mirror_placed(uow, system, request, rid, scope, reason, now, expires)


def mirror_placed(
    uow: UnitOfWork,
    system: AccountSystem,
    request: Request,
    rid: str,
    scope: str | None,
    reason: str | None,
    now: datetime,
    expires: datetime | None,
) -> None:
    """Record in Thawgate's mirror a restriction that a remote account system placed."""
    if system.name == "local":
        return
    if uow.accounts.restriction(rid) is None:
        uow.accounts.add_restriction(
            Restriction(
                id=rid,
                account_id=request.account_id,
                scope=scope or "full",
                reason=reason or "ATO_SUSPECTED",
                placed_by=SYSTEM,
                placed_at=now,
                expires_at=expires,
            ),
            now,
            placed_by_request=request.id,
        )


def _schedule_relock(uow: UnitOfWork, env: Env, request: Request, target: str, hours: int) -> None:
    lifted = uow.accounts.restriction(target)
    if lifted is None:
        return
    uow.relocks.add(
        relock_id=env.ids("rlk"),
        request_id=request.id,
        account_id=request.account_id,
        lifted=target,
        scope=lifted.scope,
        reason=lifted.reason,
        due_at=env.clock() + timedelta(hours=hours),
    )


def _go_stale(
    uow: UnitOfWork, env: Env, job_id: str, request_id: str, worker: str, exc: VersionConflict
) -> str:
    """The account system's version moved: mirror it, re-evaluate, and send back to review."""
    with uow:
        state: TargetState | None = exc.state
        if state is not None:
            uow.accounts.sync_target(state.id, state.version, state.status, env.clock())
        request = uow.requests.get(request_id, for_update=True)
        if request is not None and request.status == "approved":
            a = reassess(uow, env, request)
            settle_reassessment(uow, env, request, a, actor=SYSTEM)
        uow.jobs.finish(job_id, worker, "done", f"stale: {exc}")
        uow.commit()
    return "moved"


def _retry_or_fail(
    uow: UnitOfWork,
    env: Env,
    job_id: str,
    request_id: str,
    attempts: int,
    worker: str,
    error: str,
) -> str:
    with uow:
        now = env.clock()
        if attempts < env.job_max_attempts:
            delay = BACKOFF[min(attempts - 1, len(BACKOFF) - 1)] * env.backoff_scale
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
