"""The load file, and the worker's scheduler."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from tests.integration.conftest import Clock, count_rows, world
from tests.integration.helpers import status, submit, who

from thawgate.bootstrap import App
from thawgate.domain.errors import ValidationFailed
from thawgate.services import loader, restrictions, scheduler


def test_load_is_idempotent_by_ids(app: App, clock: Clock) -> None:
    first = loader.load_world(app.uow(), app.env, world(clock))
    again = loader.load_world(app.uow(), app.env, world(clock))
    assert (first.accounts, first.restrictions) == (3, 4)
    assert (again.accounts, again.restrictions, again.principals) == (0, 0, 0)
    assert count_rows(app, "SELECT count(*) FROM account_events") == 12


@pytest.mark.parametrize(
    ("patch", "names"),
    [
        ({"principals": [{"id": "x", "team": "marketing", "roles": []}]}, "principals[x].team"),
        ({"principals": [{"id": "x", "team": "legal", "roles": ["god"]}]}, "principals[x].roles"),
        ({"accounts": [{"id": "Z", "created_at": "yesterday"}]}, "accounts[Z].created_at"),
        (
            {
                "accounts": [
                    {
                        "id": "Z",
                        "created_at": "2026-01-01T00:00:00Z",
                        "restrictions": [
                            {
                                "id": "q",
                                "scope": "moon",
                                "reason": "ATO_SUSPECTED",
                                "placed_by": "sec-bot",
                                "placed_at": "2026-01-02T00:00:00Z",
                            }
                        ],
                    }
                ]
            },
            "accounts[Z].restrictions[0].scope",
        ),
        (
            {
                "accounts": [
                    {
                        "id": "Z",
                        "created_at": "2026-01-01T00:00:00Z",
                        "restrictions": [
                            {
                                "id": "q",
                                "scope": "full",
                                "reason": "ATO_SUSPECTED",
                                "placed_by": "ghost",
                                "placed_at": "2026-01-02T00:00:00Z",
                            }
                        ],
                    }
                ]
            },
            "placed_by: unknown principal ghost",
        ),
    ],
)
def test_load_errors_name_the_bad_entry_and_write_nothing(
    app: App, clock: Clock, patch: dict[str, object], names: str
) -> None:
    data = world(clock)
    data["principals"] = [*data["principals"], *patch.get("principals", [])]  # type: ignore[misc]
    data["accounts"] = [*data["accounts"], *patch.get("accounts", [])]  # type: ignore[misc]
    with pytest.raises(ValidationFailed) as exc:
        loader.load_world(app.uow(), app.env, data)
    assert names in exc.value.detail
    assert count_rows(app, "SELECT count(*) FROM accounts") == 0


def test_pending_requests_expire_after_the_policy_window(loaded: App, clock: Clock) -> None:
    r = submit(loaded, "alice", "A1", ["r-ato"])
    clock.advance(hours=71)
    assert scheduler.expire_pending(loaded.uow(), loaded.env) == 0
    clock.advance(hours=2)
    assert scheduler.expire_pending(loaded.uow(), loaded.env) == 1
    assert status(loaded, r.id) == "expired"
    again = submit(loaded, "alice", "A1", ["r-ato"])  # the target is free again
    assert again.status in ("pending_approval", "rejected")


def test_expiring_restrictions_lapse_on_time_audited(loaded: App, clock: Clock) -> None:
    placed = restrictions.place(
        loaded.uow(),
        loaded.env,
        actor=who(loaded, "sec-bot"),
        account_id="A1",
        scope="p2p",
        reason="RISK_RULE_HIT",
        expires_at=clock.now + timedelta(hours=2),
    )
    assert scheduler.lapse_restrictions(loaded.uow(), loaded.env) == 0
    clock.advance(hours=3)
    assert scheduler.lapse_restrictions(loaded.uow(), loaded.env) == 1
    with loaded.uow(readonly=True) as uow:
        r = uow.accounts.restriction(placed.id)
    assert r is not None
    assert r.status == "expired"
    assert (
        count_rows(
            loaded, "SELECT count(*) FROM audit_events WHERE action = :a", a="restriction:expired"
        )
        == 1
    )


def test_a_reload_never_lifts_a_suspension(app: App, clock: Clock) -> None:
    loader.load_world(app.uow(), app.env, world(clock))
    with app.uow() as uow:
        fay = uow.principals.get("fay")
        assert fay is not None
        uow.principals.upsert(replace(fay, active=False), clock.now)
        uow.commit()
    loader.load_world(app.uow(), app.env, world(clock))
    with app.uow(readonly=True) as uow:
        again = uow.principals.get("fay")
    assert again is not None
    assert again.active is False
