"""Post-thaw monitoring, without a database: the facts of a window, the shipped rules firing and
not firing on them, and the load-time checks of the `monitoring` section."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from factories import HOUR, NOW, default_policy, default_policy_text

from thawgate.domain.errors import PolicyError
from thawgate.domain.model import AccountEvent
from thawgate.domain.monitoring import (
    MonitoringFacts,
    StoredEvent,
    Window,
    whole_dollars,
    window_facts,
)
from thawgate.policy import monitoring
from thawgate.policy.request_policy import RequestPolicy

MINUTE = timedelta(minutes=1)


def window(kind: str = "thaw", opened: datetime = NOW, hours: int = 72) -> Window:
    return Window(
        request_id="req-1",
        account_id="A1",
        kind=kind,
        requester="alice",
        approvers=("fay",),
        opened_at=opened,
        closes_at=opened + timedelta(hours=hours),
    )


def ev(n: int, type_: str, at: datetime, **fields: Any) -> StoredEvent:
    return StoredEvent(n, AccountEvent(type=type_, at=at, **fields))


def rules_hit(
    events: list[StoredEvent],
    *,
    kind: str = "thaw",
    countries: frozenset[str] = frozenset({"DE"}),
    added: dict[str, list[datetime]] | None = None,
) -> list[set[str]]:
    """For each event in the window, the ids of the shipped rules that fire on it."""
    policy = default_policy().monitoring
    facts = window_facts(
        window(kind), events, known_countries=countries, addresses_added=added or {}
    )
    return [{r.id for r in policy.hits(f)} for _, f in facts]


def test_shipped_pack_watches_72_hours_with_three_rules() -> None:
    policy = default_policy().monitoring
    assert policy.window_hours == 72
    assert [r.id for r in policy.rules] == [
        "withdrawal-to-fresh-address",
        "new-country-then-withdrawal",
        "another-credential-change",
    ]
    assert all(r.refreeze and r.severity == "critical" for r in policy.rules)


def test_facts_of_a_window_in_event_order() -> None:
    events = [
        ev(3, "withdrawal", NOW + 3 * HOUR, address="bc1-x", amount_usd="950.75"),
        ev(1, "login", NOW + HOUR, country="BR"),
        ev(2, "withdrawal_address_added", NOW + 2 * HOUR, address="bc1-x"),
        ev(9, "login", NOW - HOUR, country="FR"),  # before the window: not in it
        ev(8, "login", NOW + 73 * HOUR, country="FR"),  # after it
    ]
    facts = window_facts(
        window(),
        events,
        known_countries=frozenset({"DE"}),
        addresses_added={"bc1-x": [NOW + 2 * HOUR]},
    )
    assert [s.id for s, _ in facts] == [1, 2, 3]
    withdrawal = facts[2][1]
    assert withdrawal == MonitoringFacts(
        kind="thaw",
        event_type="withdrawal",
        minutes_since_execution=180,
        amount_usd=950,
        address_age_minutes=60,
        country_is_new=False,
        new_country_login_before=True,
        credential_change=False,
        earlier_credential_changes=0,
        earlier_bindings_added=0,
    )
    assert facts[0][1].country_is_new
    assert not facts[0][1].new_country_login_before  # only logins before it count


def test_withdrawal_to_address_added_under_24h_fires() -> None:
    added = {"bc1-new": [NOW + HOUR]}
    hits = rules_hit(
        [ev(1, "withdrawal", NOW + 2 * HOUR, address="bc1-new", country="DE")], added=added
    )
    assert hits == [{"withdrawal-to-fresh-address"}]


@pytest.mark.parametrize(
    ("added", "why"),
    [
        ({"bc1-new": [NOW - 23 * HOUR]}, "added 25 h before the withdrawal"),
        ({}, "no record of the address being added"),
        ({"bc1-new": [NOW + 3 * HOUR]}, "added only after the withdrawal"),
    ],
)
def test_withdrawal_to_old_or_unknown_address_does_not_fire(
    added: dict[str, list[datetime]], why: str
) -> None:
    hits = rules_hit([ev(1, "withdrawal", NOW + 2 * HOUR, address="bc1-new")], added=added)
    assert hits == [set()], why


def test_login_from_new_country_then_withdrawal_fires() -> None:
    events = [
        ev(1, "login", NOW + HOUR, country="BR"),
        ev(2, "withdrawal", NOW + 2 * HOUR, address="bc1-old"),
    ]
    assert rules_hit(events) == [set(), {"new-country-then-withdrawal"}]


@pytest.mark.parametrize(
    ("events", "why"),
    [
        (
            [ev(1, "login", NOW + HOUR, country="DE"), ev(2, "withdrawal", NOW + 2 * HOUR)],
            "the login's country is known",
        ),
        (
            [ev(1, "withdrawal", NOW + HOUR), ev(2, "login", NOW + 2 * HOUR, country="BR")],
            "the withdrawal came first",
        ),
        ([ev(1, "login", NOW + HOUR, country="BR")], "no withdrawal"),
        (
            [ev(1, "deposit", NOW + HOUR, country="BR"), ev(2, "withdrawal", NOW + 2 * HOUR)],
            "a new country, but not on a login",
        ),
    ],
)
def test_new_country_rule_does_not_fire(events: list[StoredEvent], why: str) -> None:
    assert all(not h for h in rules_hit(events)), why


@pytest.mark.parametrize(
    "type_", ["password_change", "binding_added", "binding_removed", "phone_change", "sim_swap"]
)
def test_any_credential_change_after_a_thaw_fires(type_: str) -> None:
    assert rules_hit([ev(1, type_, NOW + HOUR)]) == [{"another-credential-change"}]


def test_after_an_unbind_one_new_binding_is_expected_and_more_is_not() -> None:
    events = [
        ev(1, "binding_added", NOW + HOUR),
        ev(2, "login", NOW + 2 * HOUR, country="DE"),
        ev(3, "binding_added", NOW + 3 * HOUR),
    ]
    assert rules_hit(events, kind="unbind") == [set(), set(), {"another-credential-change"}]
    assert rules_hit([ev(1, "sim_swap", NOW + HOUR)], kind="unbind") == [
        {"another-credential-change"}
    ]


def test_quiet_activity_fires_nothing() -> None:
    events = [
        ev(1, "login", NOW + HOUR, country="DE", device="d-home"),
        ev(2, "deposit", NOW + 2 * HOUR, amount_usd="100"),
        ev(3, "withdrawal", NOW + 3 * HOUR, address="bc1-old", amount_usd="50"),
    ]
    assert rules_hit(events, added={"bc1-old": [NOW - 400 * HOUR]}) == [set(), set(), set()]


def _pack_with(section: object) -> str:
    data = yaml.safe_load(default_policy_text())
    data["monitoring"] = section
    return yaml.safe_dump(data)


def _rule(**over: object) -> dict[str, object]:
    return {"id": "r-bad", "when": 'event_type == "withdrawal"', "message": "m"} | over


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"rules": [_rule(when='amount_usd > "100"')]}, "monitoring rule r-bad: condition"),
        ({"rules": [_rule(when="withdrawn_to_mars")]}, "monitoring rule r-bad: condition"),
        ({"rules": [_rule(when="amount_usd + 1")]}, "monitoring rule r-bad: condition"),
        ({"rules": [_rule(severity="loud")]}, "monitoring rule r-bad: severity"),
        ({"rules": [_rule(refreeze="yes")]}, "monitoring rule r-bad: refreeze"),
        ({"rules": [_rule(then="freeze")]}, "monitoring rule r-bad: unknown keys"),
        ({"rules": [_rule(message="")]}, "monitoring rule r-bad: `message` is required"),
        ({"rules": [_rule(), _rule()]}, "monitoring rule ids must be unique: r-bad"),
        ({"window_hours": 0, "rules": []}, "monitoring.window_hours"),
        ({"window_hours": "72h"}, "monitoring.window_hours"),
        ({"watch": 1}, "monitoring: unknown keys"),
        (["a list"], "monitoring: expected a mapping"),
    ],
)
def test_a_bad_monitoring_section_fails_the_whole_pack(section: object, problem: str) -> None:
    with pytest.raises(PolicyError) as caught:
        RequestPolicy.load(_pack_with(section))
    assert problem in caught.value.detail


def test_an_absent_section_watches_nothing() -> None:
    parsed = monitoring.parse(None)
    assert (parsed.window_hours, parsed.rules) == (72, ())


def test_window_and_rule_settings_are_read() -> None:
    parsed = monitoring.parse(
        {"window_hours": 24, "rules": [_rule(severity="warning", refreeze=False)]}
    )
    assert parsed.window_hours == 24
    (rule,) = parsed.rules
    assert (rule.severity, rule.refreeze, rule.message) == ("warning", False, "m")


@pytest.mark.parametrize(
    ("stored", "dollars"),
    [("12.99", 12), (None, 0), ("abc", 0), ("nan", 0), ("inf", 0), ("1e400", 0), ("-1e400", 0)],
)
def test_an_amount_stored_before_amounts_were_checked_never_breaks_monitoring(
    stored: str | None, dollars: int
) -> None:
    """The API and the load file now refuse these; rows written earlier may still hold them."""
    assert whole_dollars(stored) == dollars
