"""Execution hardening on the local account system: time-boxed thaws, reverts, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.integration.conftest import Clock, count_rows
from tests.integration.helpers import approve, drain, liveness, status, submit, who

from thawgate.adapters.accounts.local import LocalAccountSystem
from thawgate.bootstrap import App
from thawgate.domain.errors import Forbidden
from thawgate.domain.request import Evidence
from thawgate.services import corrections, intake, scheduler
from thawgate.services.ports import AccountSystemUnavailable, TargetState


def _timeboxed(app: App, hours: int) -> str:
    body = intake.NewRequest(
        kind="thaw",
        account_id="A1",
        targets=["r-ato"],
        justification="travel window",
        evidence=[liveness(app)],
        duration_hours=hours,
    )
    r = intake.submit(app.uow(), app.env, actor=who(app, "alice"), body=body)
    assert r.decision.plan[0].duration_hours == hours
    approve(app, "fay", r.id, r.state_digest)
    assert drain(app).executed == 1
    return r.id


def test_time_boxed_thaw_refreezes_the_same_scope_and_reason(loaded: App, clock: Clock) -> None:
    request_id = _timeboxed(loaded, 6)
    clock.advance(hours=5)
    assert scheduler.relock_due(loaded.uow(), loaded.env) == 0
    clock.advance(hours=2)
    assert scheduler.relock_due(loaded.uow(), loaded.env) == 1
    with loaded.uow(readonly=True) as uow:
        placed = uow.accounts.placed_by_request(request_id)
        relocks = uow.relocks.for_request(request_id)
    assert [(r.scope, r.reason, r.status) for r in placed] == [
        ("withdraw", "ATO_SUSPECTED", "active")
    ]
    assert relocks[0].placed == placed[0].id  # the new restriction id is linked to the request
    assert scheduler.relock_due(loaded.uow(), loaded.env) == 0


def test_revert_of_a_thaw_replaces_what_it_lifted(loaded: App) -> None:
    request_id = _timeboxed(loaded, 24)
    with pytest.raises(Forbidden):
        corrections.revert(
            loaded.uow(),
            loaded.env,
            actor=who(loaded, "fay"),
            request_id=request_id,
            comment="fraud reviewer is not senior",
        )
    reverted = corrections.revert(
        loaded.uow(),
        loaded.env,
        actor=who(loaded, "sam"),
        request_id=request_id,
        comment="customer reported takeover",
    )
    assert reverted.status == "reverted"
    with loaded.uow(readonly=True) as uow:
        placed = uow.accounts.placed_by_request(request_id)
        relocks = uow.relocks.for_request(request_id)
    assert [(r.scope, r.reason, r.status) for r in placed] == [
        ("withdraw", "ATO_SUSPECTED", "active")
    ]
    assert "sam" in placed[0].placers  # the reverting senior can never approve its lift
    assert [r.status for r in relocks] == ["cancelled"]


def test_revert_of_an_unbind_places_a_full_ato_freeze(loaded: App) -> None:
    r = submit(loaded, "alice", "A1", ["b-totp"], kind="unbind")
    approve(loaded, "fay", r.id, r.state_digest)
    drain(loaded)
    corrections.revert(
        loaded.uow(),
        loaded.env,
        actor=who(loaded, "sam"),
        request_id=r.id,
        comment="the unbind was social-engineered",
    )
    with loaded.uow(readonly=True) as uow:
        placed = uow.accounts.placed_by_request(r.id)
    assert ("full", "ATO_SUSPECTED") in {(p.scope, p.reason) for p in placed}


class _Down:
    """An account system that is down: every call fails before applying anything."""

    name = "down"

    def _fail(self, **_: object) -> int:
        raise AccountSystemUnavailable("connection refused")

    lift_restriction = remove_binding = place_restriction = _fail

    def read(self, target_id: str) -> TargetState | None:
        raise AccountSystemUnavailable(f"cannot read {target_id}")


def test_permanent_failure_ends_failed_and_an_operator_retries(loaded: App, clock: Clock) -> None:
    r = submit(loaded, "alice", "A1", ["r-ato"])
    approve(loaded, "fay", r.id, r.state_digest)
    loaded.env.remote_accounts = _Down()  # type: ignore[assignment]
    for _ in range(loaded.env.job_max_attempts):
        drain(loaded)
        clock.advance(minutes=5)  # past every backoff
    assert status(loaded, r.id) == "failed"
    with loaded.uow(readonly=True) as uow:
        failed = uow.jobs.failed()
        request = uow.requests.get(r.id)
    assert [j.request_id for j in failed] == [r.id]
    assert request is not None
    assert "connection refused" in (request.status_reason or "")
    with pytest.raises(Forbidden):
        corrections.retry_failed(
            loaded.uow(), loaded.env, actor=who(loaded, "alice"), request_id=r.id, comment="let me"
        )
    loaded.env.remote_accounts = None
    corrections.retry_failed(
        loaded.uow(), loaded.env, actor=who(loaded, "sam"), request_id=r.id, comment="core is back"
    )
    assert drain(loaded).executed == 1
    assert status(loaded, r.id) == "executed"
    assert (
        count_rows(
            loaded, "SELECT count(*) FROM audit_events WHERE action = :a", a="request:retried"
        )
        == 1
    )


def test_stale_evidence_rejects_and_names_what_is_missing(loaded: App, clock: Clock) -> None:
    old = Evidence("KYC_LIVENESS_PASS", "k-0", clock.now - timedelta(days=6))
    r = submit(loaded, "alice", "A1", ["r-ato"], evidence=[old])
    assert r.status == "rejected"
    assert r.decision.missing_evidence == ("KYC_LIVENESS_PASS",)


def test_a_target_lifted_underneath_never_lifts_twice(loaded: App) -> None:
    """Approved, then the core lifts the target on another request's key before the worker runs:
    the compare-and-swap on the reviewed version refuses, and the request ends without a lift."""
    r = submit(loaded, "alice", "A1", ["r-ato"])
    approve(loaded, "fay", r.id, r.state_digest)
    with loaded.uow() as uow:
        core = LocalAccountSystem(uow.accounts, loaded.env.clock())
        core.lift_restriction(restriction_id="r-ato", expected_version=1, key="req_other:0:0")
        uow.commit()
    result = drain(loaded)
    assert result.executed == 0
    assert status(loaded, r.id) == "rejected"
    with loaded.uow(readonly=True) as uow:
        after = uow.requests.get(r.id)
        target = uow.accounts.restriction("r-ato")
    assert after is not None
    assert "no longer active" in (after.status_reason or "")
    assert target is not None
    assert (target.status, target.version) == ("lifted", 2)  # lifted once, by the other key
    assert (
        count_rows(
            loaded, "SELECT count(*) FROM audit_events WHERE action = :a", a="restriction:lifted"
        )
        == 0
    )
