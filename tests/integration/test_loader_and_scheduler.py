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


def _account(aid: object, **fields: object) -> dict[str, object]:
    return {"id": aid, "created_at": "2024-01-05T00:00:00Z", **fields}


def _event(**fields: object) -> dict[str, object]:
    return {"type": "withdrawal", "at": "2026-01-01T00:00:00Z", **fields}


def _restriction(**fields: object) -> dict[str, object]:
    return {
        "id": "q",
        "scope": "full",
        "reason": "ATO_SUSPECTED",
        "placed_by": "sec-bot",
        "placed_at": "2026-01-02T00:00:00Z",
        **fields,
    }


@pytest.mark.parametrize(
    ("entry", "names"),
    [
        # a binding id another account already has (A1 holds b-totp)
        ({"accounts": [_account("Z", bindings=[{"id": "b-totp", "type": "TOTP"}])]}, "b-totp"),
        ({"accounts": [_account("Z", created_at="9999-12-31T23:59:59-12:00")]}, "created_at"),
        ({"accounts": [_account("Z", events=[_event(device=["d-1"])])]}, "events[0].device"),
        ({"accounts": [_account("Z", events=[_event(country=False)])]}, "events[0].country"),
        ({"accounts": [_account("Z", events=[_event(ip="1" * 65)])]}, "events[0].ip"),
        ({"accounts": [_account("Z", events=[_event(amount_usd="lots")])]}, "amount_usd"),
        ({"accounts": [_account("Z", events=[_event(amount_usd=float("inf"))])]}, "amount_usd"),
        ({"accounts": [_account("Z", restrictions=[_restriction(note={"a": 1})])]}, "note"),
        ({"accounts": [_account(["Z", "Y"])]}, "accounts[0].id"),
        ({"accounts": [_account("Z" * 129)]}, "accounts[0].id"),
        ({"accounts": [_account("Z", restrictions=[_restriction(id="q\x00")])]}, "id"),
        ({"principals": [{"id": "x", "team": "legal", "active": "no"}]}, "principals[x].active"),
        ({"principals": [{"id": "x", "team": "legal", "name": "n" * 257}]}, "principals[x].name"),
    ],
)
def test_load_entries_that_cannot_be_stored_are_named(
    loaded: App, entry: dict[str, list[dict[str, object]]], names: str
) -> None:
    """Each was a traceback (a database error) or, for `active: "no"`, an active principal."""
    with pytest.raises(ValidationFailed) as exc:
        loader.load_world(loaded.uow(), loaded.env, entry)
    assert names in exc.value.detail
    assert (
        count_rows(
            loaded, "SELECT count(*) FROM accounts WHERE id <> 'A1' AND id <> 'A2' AND id <> 'A3'"
        )
        == 0
    )
    assert count_rows(loaded, "SELECT count(*) FROM principals WHERE id = 'x'") == 0


def test_a_binding_named_twice_loads_once_as_a_restriction_does(app: App) -> None:
    twice = [{"id": "b-z", "type": "TOTP"}] * 2
    report = loader.load_world(app.uow(), app.env, {"accounts": [_account("Z", bindings=twice)]})
    assert report.bindings == 1


def test_load_takes_an_amount_as_a_number_and_ids_as_numbers(app: App) -> None:
    report = loader.load_world(
        app.uow(),
        app.env,
        {
            "accounts": [
                {
                    "id": 10001,
                    "created_at": "2024-01-05T00:00:00Z",
                    "events": [_event(amount_usd=12.5, device=77)],
                }
            ]
        },
    )
    assert (report.accounts, report.events) == (1, 1)
    with app.uow(readonly=True) as uow:
        (event,) = uow.accounts.events("10001")
    assert (event.amount_usd, event.device) == ("12.5", "77")


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


def test_the_load_files_roles_are_audited_as_authority(app: App, clock: Clock) -> None:
    """Who holds which role by the load file is a change of authority: each principal the load
    creates or changes is an audit event by the operator; a reload that changes nothing is not."""
    loaded = world(clock)
    loader.load_world(app.uow(), app.env, loaded)
    created = "SELECT count(*) FROM audit_events WHERE action = 'principal:created'"
    assert count_rows(app, created) == len(loaded["principals"])  # type: ignore[arg-type]
    loader.load_world(app.uow(), app.env, loaded)
    assert count_rows(app, "SELECT count(*) FROM audit_events WHERE action LIKE 'principal:%'") == (
        len(loaded["principals"])  # type: ignore[arg-type]
    )
    promoted = dict(loaded)
    promoted["principals"] = [
        dict(p, roles=["requester", "senior_fraud_reviewer"]) if p["id"] == "alice" else p
        for p in loaded["principals"]  # type: ignore[attr-defined]
    ]
    loader.load_world(app.uow(), app.env, promoted)
    with app.uow(readonly=True) as uow:
        [event] = [e for e in uow.audit.list(from_seq=0, limit=1000)
                   if e.action == "principal:updated"]  # fmt: skip
    assert (event.actor, event.subject) == ("operator", "principal:alice")
    assert event.data["roles"] == ["requester", "senior_fraud_reviewer"]
    assert event.data["before"]["roles"] == ["requester"]  # type: ignore[index]
    assert event.data["via"] == "load"


def test_unknown_keys_are_reported_where_they_are(app: App, clock: Clock) -> None:
    data = world(clock)
    account = data["accounts"][0]  # type: ignore[index]
    account["restrictions"][0]["expires_a"] = clock.now.isoformat()
    account["tier"] = "vip"
    data["principals"][0]["rolse"] = ["auditor"]  # type: ignore[index]

    report = loader.load_world(app.uow(), app.env, data)

    assert report.ignored == [
        "principals[0]: rolse",
        f"accounts[{account['id']}]: tier",
        f"accounts[{account['id']}].restrictions[0]: expires_a",
    ]
    assert report.restrictions > 0  # the rest loaded
    assert loader.load_world(app.uow(), app.env, world(clock)).ignored == []
