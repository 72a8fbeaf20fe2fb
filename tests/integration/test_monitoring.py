"""Post-thaw monitoring on a real database: events arrive through the ingestion service, hits
raise alerts and re-freeze through the `local` account system, and bad thaws are counted."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from tests.integration.conftest import Clock, count_rows
from tests.integration.helpers import approve, drain, status, submit, who

from thawgate.bootstrap import App
from thawgate.domain.errors import Forbidden, PolicyError
from thawgate.domain.model import AccountEvent
from thawgate.entrypoints.api.app import create_app
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services import (
    corrections,
    identity,
    loader,
    monitoring,
    policy_admin,
    restrictions,
)

WATCHERS = [
    {"id": "pat", "team": "fraud_risk", "roles": ["policy_admin"]},
    {"id": "audra", "team": "compliance", "roles": ["auditor"]},
]


@pytest.fixture
def watched(loaded: App) -> App:
    loader.load_world(loaded.uow(), loaded.env, {"principals": WATCHERS})
    return loaded


def thaw(app: App, account: str = "A1", target: str = "r-ato", reviewer: str = "fay") -> str:
    """An executed thaw: its execution opens the monitoring window at the clock's now."""
    r = submit(app, "alice", account, [target])
    approve(app, reviewer, r.id, r.state_digest)
    assert drain(app).executed == 1
    assert status(app, r.id) == "executed"
    return r.id


def unbind(app: App) -> str:
    r = submit(app, "alice", "A1", ["b-totp"], kind="unbind")
    approve(app, "fay", r.id, r.state_digest)
    assert drain(app).executed == 1
    return r.id


def ingest(app: App, account: str, *events: AccountEvent) -> int:
    return restrictions.ingest_events(
        app.uow(), app.env, actor=who(app, "events"), account_id=account, events=list(events)
    )


def event(type_: str, at: datetime, **fields: Any) -> AccountEvent:
    return AccountEvent(type=type_, at=at, **fields)


def hits(app: App, request_id: str | None = None) -> list[tuple[str, str]]:
    with app.uow(readonly=True) as uow:
        return [(h.request_id, h.rule_id) for h in uow.monitoring.hits(request_id=request_id)]


def n_alerts(app: App) -> int:
    return count_rows(app, "SELECT count(*) FROM alerts WHERE kind = 'post-thaw-monitoring'")


def test_withdrawal_to_a_fresh_address_refreezes_the_account_with_an_alert(
    loaded: App, clock: Clock
) -> None:
    rid = thaw(loaded)
    clock.advance(hours=5)
    now = clock.now
    ingest(
        loaded,
        "A1",
        event("withdrawal_address_added", now - timedelta(minutes=30), address="bc1-thief"),
        event("withdrawal", now, address="bc1-thief", amount_usd="25000"),
    )
    assert hits(loaded) == [(rid, "withdrawal-to-fresh-address")]
    with loaded.uow(readonly=True) as uow:
        refreeze = uow.accounts.restriction(f"{rid}-monitor")
        (alert,) = uow.alerts.recent(limit=10)
        linked = [r.id for r in uow.accounts.placed_by_request(rid)]
    assert refreeze is not None
    assert (refreeze.scope, refreeze.reason, refreeze.status) == ("full", "ATO_SUSPECTED", "active")
    assert (refreeze.placed_by, refreeze.account_id) == ("system", "A1")
    assert linked == [refreeze.id]  # linked to the thaw that opened the window
    assert (alert.kind, alert.severity, alert.request_id) == (
        "post-thaw-monitoring",
        "critical",
        rid,
    )
    assert alert.data["rule"] == "withdrawal-to-fresh-address"
    assert alert.data["restriction_id"] == refreeze.id
    # audited, by the system, in the ingestion's transaction
    placed = count_rows(
        loaded,
        "SELECT count(*) FROM audit_events WHERE action = 'restriction:placed' "
        "AND actor = 'system' AND subject = :s",
        s=f"restriction:{refreeze.id}",
    )
    hit_events = count_rows(
        loaded,
        "SELECT count(*) FROM audit_events WHERE action = 'monitoring:hit' AND subject = :s",
        s=f"request:{rid}",
    )
    assert (placed, hit_events) == (1, 1)


def test_a_rule_fires_once_per_window_and_one_refreeze_serves_every_hit(
    loaded: App, clock: Clock
) -> None:
    rid = thaw(loaded)
    clock.advance(hours=1)
    now = clock.now
    ingest(loaded, "A1", event("withdrawal_address_added", now, address="bc1-a"))
    ingest(loaded, "A1", event("withdrawal", now + timedelta(minutes=5), address="bc1-a"))
    ingest(loaded, "A1", event("withdrawal", now + timedelta(minutes=9), address="bc1-a"))
    ingest(loaded, "A1", event("password_change", now + timedelta(minutes=12)))
    assert sorted(hits(loaded)) == [
        (rid, "another-credential-change"),
        (rid, "withdrawal-to-fresh-address"),
    ]
    assert n_alerts(loaded) == 2
    assert (
        count_rows(loaded, "SELECT count(*) FROM restrictions WHERE placed_by_request = :r", r=rid)
        == 1
    )


def test_withdrawal_to_an_old_address_or_outside_the_window_does_nothing(
    loaded: App, clock: Clock
) -> None:
    old = clock.now - timedelta(days=3)
    ingest(loaded, "A1", event("withdrawal_address_added", old, address="bc1-mine"))
    rid = thaw(loaded)
    opened = clock.now
    ingest(
        loaded,
        "A1",
        event("withdrawal", opened + timedelta(hours=1), address="bc1-mine"),  # address is old
        event("withdrawal_address_added", opened - timedelta(hours=2), address="bc1-b"),
        event("withdrawal", opened - timedelta(hours=1), address="bc1-b"),  # before the window
        event("withdrawal_address_added", opened + timedelta(hours=72, minutes=5), address="c"),
        event("withdrawal", opened + timedelta(hours=72, minutes=10), address="c"),  # after it
    )
    assert hits(loaded, rid) == []
    assert n_alerts(loaded) == 0
    with loaded.uow(readonly=True) as uow:
        assert uow.accounts.restriction(f"{rid}-monitor") is None


def test_new_country_login_then_withdrawal(loaded: App, clock: Clock) -> None:
    rid = thaw(loaded)
    opened = clock.now
    ingest(
        loaded,
        "A1",
        event("login", opened + timedelta(hours=1), country="DE", ip="198.51.100.9"),
        event("withdrawal", opened + timedelta(hours=2), address="bc1-x"),
    )
    assert hits(loaded) == []  # a known country
    ingest(loaded, "A1", event("login", opened + timedelta(hours=3), country="NG"))
    assert hits(loaded) == []  # a new country, but no withdrawal after it yet
    ingest(loaded, "A1", event("withdrawal", opened + timedelta(hours=4), address="bc1-x"))
    assert hits(loaded) == [(rid, "new-country-then-withdrawal")]


def test_a_late_event_completes_the_pattern(loaded: App, clock: Clock) -> None:
    """The login is delivered after the withdrawal, though it happened before it."""
    rid = thaw(loaded)
    opened = clock.now
    ingest(loaded, "A1", event("withdrawal", opened + timedelta(hours=2), address="bc1-x"))
    assert hits(loaded) == []
    ingest(loaded, "A1", event("login", opened + timedelta(hours=1), country="VN"))
    assert hits(loaded) == [(rid, "new-country-then-withdrawal")]


def test_credential_change_after_a_thaw(loaded: App, clock: Clock) -> None:
    rid = thaw(loaded)
    ingest(loaded, "A1", event("login", clock.now + timedelta(hours=1), country="DE"))
    assert hits(loaded) == []
    ingest(loaded, "A1", event("sim_swap", clock.now + timedelta(hours=2)))
    assert hits(loaded) == [(rid, "another-credential-change")]


def test_after_an_unbind_the_new_authenticator_is_expected_a_second_one_is_not(
    loaded: App, clock: Clock
) -> None:
    rid = unbind(loaded)
    ingest(loaded, "A1", event("binding_added", clock.now + timedelta(minutes=20)))
    assert hits(loaded) == []
    ingest(loaded, "A1", event("binding_added", clock.now + timedelta(hours=6)))
    assert hits(loaded) == [(rid, "another-credential-change")]
    with loaded.uow(readonly=True) as uow:
        refreeze = uow.accounts.restriction(f"{rid}-monitor")
    assert refreeze is not None
    assert refreeze.scope == "full"


def test_an_account_with_no_recent_thaw_is_not_watched(loaded: App, clock: Clock) -> None:
    """A3 had no execution; A1's thaw is older than the window."""
    thaw(loaded)
    clock.advance(hours=80)
    now = clock.now
    for account in ("A3", "A1"):
        ingest(
            loaded,
            account,
            event("withdrawal_address_added", now, address="bc1-t"),
            event("withdrawal", now + timedelta(minutes=1), address="bc1-t"),
            event("password_change", now + timedelta(minutes=2)),
        )
    assert hits(loaded) == []
    assert n_alerts(loaded) == 0
    assert (
        count_rows(loaded, "SELECT count(*) FROM audit_events WHERE action = 'monitoring:hit'") == 0
    )
    assert count_rows(loaded, "SELECT count(*) FROM account_events WHERE type = 'withdrawal'") == 2


def test_refreeze_is_a_per_rule_setting(loaded: App, clock: Clock) -> None:
    data = yaml.safe_load(loaded.env.policy.document)
    for rule in data["monitoring"]["rules"]:
        rule["refreeze"] = False
    pack = RequestPolicy.load(yaml.safe_dump(data))
    loaded.env.policies[pack.version] = pack
    loaded.env.active_version = pack.version
    rid = thaw(loaded)
    ingest(loaded, "A1", event("password_change", clock.now + timedelta(hours=1)))
    assert hits(loaded) == [(rid, "another-credential-change")]
    assert n_alerts(loaded) == 1
    with loaded.uow(readonly=True) as uow:
        assert uow.accounts.restriction(f"{rid}-monitor") is None


def test_a_reverted_request_opens_no_window(loaded: App, clock: Clock) -> None:
    rid = thaw(loaded)
    corrections.revert(
        loaded.uow(), loaded.env, actor=who(loaded, "sam"), request_id=rid, comment="bad"
    )
    ingest(loaded, "A1", event("password_change", clock.now + timedelta(hours=1)))
    assert hits(loaded) == []


def test_bad_thaw_counts_per_requester_approver_and_rule(watched: App, clock: Clock) -> None:
    first = thaw(watched, "A1", "r-ato", reviewer="fay")
    ingest(
        watched,
        "A1",
        event("password_change", clock.now + timedelta(minutes=5)),
        event("login", clock.now + timedelta(minutes=6), country="BR"),
        event("withdrawal", clock.now + timedelta(minutes=7), address="bc1-z"),
    )
    clock.advance(days=10)
    cutoff = clock.now
    quiet = thaw(watched, "A3", "r-ato3b", reviewer="fay")  # quiet afterwards: not a bad thaw
    ingest(watched, "A3", event("login", clock.now + timedelta(minutes=5), country="DE"))
    clock.advance(days=4)
    second = thaw(watched, "A3", "r-ato3", reviewer="finn")
    ingest(watched, "A3", event("phone_change", clock.now + timedelta(minutes=5)))
    assert hits(watched, quiet) == []
    assert {h[0] for h in hits(watched)} == {first, second}

    counts = monitoring.bad_thaw_counts(watched.uow(readonly=True), None)
    assert counts.per_requester == [("alice", 2)]  # two bad thaws, though four hits
    assert counts.per_approver == [("fay", 1), ("finn", 1)]
    assert counts.per_rule == [
        ("another-credential-change", 2),
        ("new-country-then-withdrawal", 1),
    ]
    assert counts.bad_thaws == 2

    recent = monitoring.bad_thaw_counts(watched.uow(readonly=True), cutoff)
    assert (recent.per_requester, recent.per_approver, recent.per_rule) == (
        [("alice", 1)],
        [("finn", 1)],
        [("another-credential-change", 1)],
    )


def test_reading_bad_thaw_counts_is_authorized(watched: App) -> None:
    counts = monitoring.read_bad_thaw_counts(
        watched.uow(readonly=True), watched.env, actor=who(watched, "audra"), since=None
    )
    assert counts.bad_thaws == 0
    with pytest.raises(Forbidden):
        monitoring.read_bad_thaw_counts(
            watched.uow(readonly=True), watched.env, actor=who(watched, "alice"), since=None
        )
    refused = count_rows(
        watched,
        "SELECT count(*) FROM audit_events WHERE action = 'refused:forbidden' AND subject = :s",
        s="monitoring:bad-thaws",
    )
    assert refused == 1


def test_a_policy_version_with_a_bad_monitoring_rule_is_refused(watched: App) -> None:
    data = yaml.safe_load(watched.env.policy.document)
    data["monitoring"]["rules"][0]["when"] = 'event_type == "withdrawal" && amount_usd > "10"'
    with pytest.raises(PolicyError) as caught:
        policy_admin.upload(
            watched.uow(), watched.env, actor=who(watched, "pat"), document=yaml.safe_dump(data)
        )
    assert "monitoring rule withdrawal-to-fresh-address" in caught.value.detail
    assert count_rows(watched, "SELECT count(*) FROM policy_versions") == 1


def test_a_policy_version_changes_the_window(watched: App, clock: Clock) -> None:
    """Uploaded, approved by a second admin: the new window applies to the next events."""
    data = yaml.safe_load(watched.env.policy.document)
    data["monitoring"]["window_hours"] = 6
    data["name"] = "short-window"
    loader.load_world(
        watched.uow(),
        watched.env,
        {"principals": [{"id": "pia", "team": "security", "roles": ["policy_admin"]}]},
    )
    draft = policy_admin.upload(
        watched.uow(), watched.env, actor=who(watched, "pat"), document=yaml.safe_dump(data)
    )
    policy_admin.approve(
        watched.uow(), watched.env, actor=who(watched, "pia"), version=draft.version, comment="ok"
    )
    assert watched.env.policy.monitoring.window_hours == 6
    thaw(watched)
    ingest(watched, "A1", event("password_change", clock.now + timedelta(hours=7)))
    assert hits(watched) == []


def test_concurrent_ingestions_of_one_account_hit_once(loaded: App, clock: Clock) -> None:
    """Eight streams deliver the same pattern at once: one hit, one alert, one re-freeze, and
    every event recorded (on PostgreSQL the account row serialises the monitoring passes)."""
    rid = thaw(loaded)
    now = clock.now
    ingest(loaded, "A1", event("withdrawal_address_added", now, address="bc1-race"))
    barrier = threading.Barrier(8)

    def one(n: int) -> int:
        barrier.wait()
        return ingest(
            loaded,
            "A1",
            event("withdrawal", now + timedelta(minutes=n + 1), address="bc1-race"),
            event("password_change", now + timedelta(minutes=n + 1, seconds=30)),
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(one, range(8))) == [2] * 8
    assert sorted(hits(loaded)) == [
        (rid, "another-credential-change"),
        (rid, "withdrawal-to-fresh-address"),
    ]
    assert n_alerts(loaded) == 2
    assert count_rows(loaded, "SELECT count(*) FROM account_events WHERE type = 'withdrawal'") == 8
    placed = "SELECT count(*) FROM restrictions WHERE placed_by_request = :r"
    assert count_rows(loaded, placed, r=rid) == 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # starlette's TestClient on httpx
def test_the_api_refuses_a_bad_monitoring_rule_naming_it(watched: App) -> None:
    token = identity.issue_token(
        watched.uow(), watched.env, principal_id="pat", ttl=timedelta(hours=1)
    )
    data = yaml.safe_load(watched.env.policy.document)
    data["monitoring"]["rules"][1]["when"] = "new_country_login_before && withdrawl_count > 0"
    client = TestClient(create_app(watched))
    resp = client.post(
        "/v1/policy/versions",
        json={"document": yaml.safe_dump(data)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"] == "urn:thawgate:problem:validation"
    assert "monitoring rule new-country-then-withdrawal" in body["detail"]
    assert "withdrawl_count" in body["detail"]
    schema = client.get("/openapi.json").json()
    route = schema["paths"]["/v1/monitoring/bad-thaws"]["get"]
    assert {"200", "401", "403", "422"} <= set(route["responses"])


def test_a_country_first_used_days_before_the_thaw_is_still_new(loaded: App, clock: Clock) -> None:
    """The takeover's own login (two days before the thaw) does not make its country the
    account's; a country used ten days before does."""
    ingest(
        loaded,
        "A1",
        event("login", clock.now - timedelta(days=2), country="RU"),
        event("login", clock.now - timedelta(days=10), country="FR"),
    )
    ingest(
        loaded,
        "A3",
        event("login", clock.now - timedelta(days=10), country="FR"),
    )
    rid = thaw(loaded)
    other = thaw(loaded, "A3", "r-ato3", reviewer="finn")
    later = clock.now + timedelta(hours=1)
    ingest(loaded, "A3", event("login", later, country="FR"), event("withdrawal", later))
    assert hits(loaded, other) == []
    ingest(loaded, "A1", event("login", later, country="RU"), event("withdrawal", later))
    assert hits(loaded) == [(rid, "new-country-then-withdrawal")]
