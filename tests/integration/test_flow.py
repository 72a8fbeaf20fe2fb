"""The spine through the services, on a real database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tests.integration.conftest import Clock, count_rows
from tests.integration.helpers import approve, drain, liveness, status, submit, who

from thawgate.bootstrap import App
from thawgate.domain.errors import (
    Conflict,
    Forbidden,
    IdempotencyMismatch,
    SeparationOfDuties,
    Stale,
    ValidationFailed,
)
from thawgate.domain.model import AccountEvent, Principal
from thawgate.services import restrictions


def test_ato_thaw_is_lifted_once_by_the_worker(loaded: App) -> None:
    r = submit(loaded, "alice", "A1", ["r-ato"])
    assert r.status == "pending_approval"
    assert [op.as_dict() for op in r.decision.plan] == [
        {"op": "lift_restriction", "target": "r-ato", "expected_version": 1}
    ]
    done = approve(loaded, "fay", r.id, r.state_digest)
    assert done.status == "approved"
    assert drain(loaded).executed == 1
    assert status(loaded, r.id) == "executed"
    with loaded.uow(readonly=True) as uow:
        lifted = uow.accounts.restriction("r-ato")
    assert lifted is not None
    assert (lifted.status, lifted.version) == ("lifted", 2)
    assert drain(loaded).claimed == 0
    assert (
        count_rows(
            loaded, "SELECT count(*) FROM audit_events WHERE action = :a", a="request:executed"
        )
        == 1
    )


def test_refusals_are_audited_and_change_nothing(loaded: App) -> None:
    r = submit(loaded, "alice", "A1", ["r-ato"])
    with pytest.raises(SeparationOfDuties):
        approve(loaded, "alice", r.id)
    with pytest.raises(Forbidden):
        approve(loaded, "lena", r.id)  # a legal reviewer fits no fraud clause
    with pytest.raises(Forbidden):
        submit(loaded, "alice", "A2", ["r-law"])  # legal holds are requested by legal only
    refused = count_rows(loaded, "SELECT count(*) FROM audit_events WHERE action LIKE 'refused:%'")
    assert refused == 3
    assert status(loaded, r.id) == "pending_approval"


def test_placer_never_approves_the_lift(loaded: App, clock: Clock) -> None:
    placer = who(loaded, "placer")
    # the placer also holds a reviewer role: the floor, not the roles, must stop them
    with loaded.uow() as uow:
        uow.principals.upsert(
            Principal(
                id=placer.id,
                name=placer.name,
                team="fraud_risk",
                roles=frozenset({"restriction_placer", "fraud_reviewer"}),
            ),
            loaded.env.clock(),
        )
        uow.commit()
    placed = restrictions.place(
        loaded.uow(),
        loaded.env,
        actor=who(loaded, "placer"),
        account_id="A3",
        scope="api",
        reason="ATO_SUSPECTED",
    )
    clock.advance(minutes=20)  # evidence must be newer than the freeze it vouches for
    request = submit(loaded, "alice", "A3", [placed.id], evidence=[liveness(loaded, 0.1)])
    assert request.decision.outcome == "review"
    assert {c.role for c in request.decision.required_approvals} == {
        "fraud_reviewer",
        "senior_fraud_reviewer",
    }  # fresh-freeze: thaw right after freeze
    with pytest.raises(SeparationOfDuties) as exc:
        approve(loaded, "placer", request.id)
    assert exc.value.floor_item == 2


def test_stale_when_reason_is_amended_to_a_legal_hold(loaded: App) -> None:
    r = submit(loaded, "alice", "A1", ["r-ato"])
    restrictions.amend(
        loaded.uow(),
        loaded.env,
        actor=who(loaded, "sec-bot"),
        account_id="A1",
        restriction_id="r-ato",
        reason="LAW_ENFORCEMENT",
        scope=None,
        note=None,
    )
    with pytest.raises(Stale):
        approve(loaded, "fay", r.id, r.state_digest)
    # without a digest the re-check at approval still catches it: the request is re-decided
    with loaded.uow(readonly=True) as uow:
        after = uow.requests.get(r.id)
    assert after is not None
    assert after.approvals == []
    assert status(loaded, r.id) in ("pending_approval", "rejected")


def test_execution_recheck_sends_a_changed_request_back(loaded: App, clock: Clock) -> None:
    """Approved on Monday; on Tuesday the account shows a takeover: it must not execute."""
    r = submit(loaded, "alice", "A1", ["r-ato"])
    approve(loaded, "fay", r.id, r.state_digest)
    takeover = [
        AccountEvent("login", clock.now, ip="203.0.113.9", country="BR", device="d-evil"),
        AccountEvent("phone_change", clock.now),
    ]
    restrictions.ingest_events(
        loaded.uow(), loaded.env, actor=who(loaded, "events"), account_id="A1", events=takeover
    )
    result = drain(loaded)
    assert result.executed == 0
    with loaded.uow(readonly=True) as uow:
        after = uow.requests.get(r.id)
        target = uow.accounts.restriction("r-ato")
    assert after is not None
    assert target is not None
    assert target.status == "active"
    # the phone change is newer than the liveness check: the evidence no longer counts
    assert after.status == "rejected"
    assert "evidence" in (after.status_reason or "")


def test_a_second_open_request_on_a_target_conflicts(loaded: App) -> None:
    submit(loaded, "alice", "A3", ["r-ato3"])
    with pytest.raises(Conflict):
        submit(loaded, "alice", "A3", ["r-ato3b", "r-ato3"])


def test_idempotency(loaded: App) -> None:
    first = submit(loaded, "alice", "A1", ["r-ato"], key="k-1")
    again = submit(loaded, "alice", "A1", ["r-ato"], key="k-1")
    assert again.id == first.id
    with pytest.raises(IdempotencyMismatch):
        submit(loaded, "alice", "A3", ["r-ato3"], key="k-1")


def test_bad_targets_write_nothing(loaded: App) -> None:
    cases = [("A1", ["r-law"]), ("A1", ["b-totp"]), ("nope", ["r-ato"]), ("A1", [])]
    for account, targets in cases:
        with pytest.raises(ValidationFailed):
            submit(loaded, "alice", account, targets)
    assert count_rows(loaded, "SELECT count(*) FROM requests") == 0


def test_credential_unbind_places_cooldowns(loaded: App) -> None:
    evidence = [liveness(loaded)]
    r = submit(loaded, "alice", "A1", ["b-totp"], evidence=evidence, kind="unbind")
    ops = [op.as_dict() for op in r.decision.plan]
    assert ops[0] == {"op": "remove_binding", "target": "b-totp", "expected_version": 1}
    assert sorted(op["scope"] for op in ops[1:]) == ["p2p", "transfer", "withdraw"]
    assert {op["duration_hours"] for op in ops[1:]} == {48}
    approve(loaded, "fay", r.id, r.state_digest)
    assert drain(loaded).executed == 1
    with loaded.uow(readonly=True) as uow:
        account = uow.accounts.get("A1")
    assert account is not None
    binding = account.binding("b-totp")
    assert binding is not None
    assert binding.status == "removed"
    cooldowns = [x for x in account.restrictions if x.reason == "SECURITY_COOLDOWN"]
    assert len(cooldowns) == 3
    assert all(x.is_active and x.placed_by == "system" for x in cooldowns)
    thaw = submit(loaded, "alice", "A1", [cooldowns[0].id])
    assert thaw.status == "rejected"
    assert thaw.decision.rules[0].id == "cooldown-not-shortened"


def test_audit_table_refuses_rewrites_from_the_app_connection(loaded: App) -> None:
    submit(loaded, "alice", "A1", ["r-ato"])
    for sql in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DBAPIError), loaded.engine.begin() as conn:
            conn.execute(sa.text(sql))
    seqs = count_rows(loaded, "SELECT count(*) FROM audit_events")
    top = count_rows(loaded, "SELECT max(seq) FROM audit_events")
    assert top == seqs - 1  # gap-free from 0
