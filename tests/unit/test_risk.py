"""The risk scorecard: each factor, the cap, event counting and POLICY.md's calibration."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from factories import (
    DAY,
    HOUR,
    NOW,
    RISK_PRESETS,
    default_policy,
    every_factor_facts,
    make_event,
    make_risk_facts,
    risk_facts_scoring,
)

from thawgate.domain.model import AccountEvent
from thawgate.domain.risk import FACTORS, RiskFacts, event_counts, score

# (factor, overrides that make it fire, overrides right beside them that don't)
FACTOR_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("young_account", {"account_age_days": 29}, {"account_age_days": 30}),
    ("credential_change_7d", {"credential_changes_7d": 1}, {"credential_changes_7d": 0}),
    ("sim_swap_or_phone_change_7d", {"sim_or_phone_changes_7d": 1}, {}),
    ("sim_swap_7d", {"sim_swaps_7d": 1}, {"sim_swaps_7d": 0}),
    ("new_device_24h", {"new_device_logins_24h": 1}, {}),
    ("new_country_24h", {"new_country_logins_24h": 1}, {}),
    (
        "new_country_7d",
        {"new_country_logins_7d": 1, "new_country_logins_24h": 0},
        {"new_country_logins_7d": 1, "new_country_logins_24h": 1},
    ),
    ("withdrawal_address_added_7d", {"withdrawal_addresses_added_7d": 2}, {}),
    ("restrictions_90d", {"other_restrictions_90d": 1}, {"other_restrictions_90d": 0}),
    ("earlier_thaws", {"earlier_thaws": 3}, {"earlier_thaws": 0}),
    ("linked_restricted", {"linked_restricted_accounts": 1}, {}),
    ("stale_evidence", {"evidence_age_hours": 49}, {"evidence_age_hours": 48}),
    ("fresh_restriction", {"youngest_target_age_minutes": 59}, {"youngest_target_age_minutes": 60}),
    ("prior_rejections", {"prior_rejected_or_withdrawn_30d": 1}, {}),
    (
        "requester_volume",
        {"requester_today": 5, "requester_30d": 30},
        {"requester_today": 15, "requester_30d": 150},
    ),
    ("off_hours", {"off_hours": True}, {"off_hours": False}),
    (
        "takeover_pattern",
        {"new_device_logins_24h": 1, "credential_changes_7d": 1},
        {"new_device_logins_24h": 0, "credential_changes_7d": 1},
    ),
    ("linked_ring", {"linked_restricted_accounts": 3}, {"linked_restricted_accounts": 2}),
    ("dormant_account", {"days_since_login": 60}, {"days_since_login": 59}),
    (
        "pair_recurrence",
        {"pair_approvals_30d": 5, "requester_approved_30d": 12, "requester_approvers_30d": 3},
        {"pair_approvals_30d": 5, "requester_approved_30d": 5, "requester_approvers_30d": 1},
    ),
]

# Factors that, firing, bring others along (they read the same fact): what fires with them.
COMPANIONS: dict[str, set[str]] = {
    "takeover_pattern": {"new_device_24h", "credential_change_7d"},
    "linked_ring": {"linked_restricted"},
}


FACTOR_IDS = [case[0] for case in FACTOR_CASES]


def shipped_weights() -> dict[str, int]:
    return default_policy().weights


def test_factor_table_covers_every_factor() -> None:
    assert list(FACTORS) == FACTOR_IDS


def test_shipped_scorecard_weights_every_factor() -> None:
    weights = shipped_weights()
    assert set(weights) == set(FACTORS)
    assert all(points > 0 for points in weights.values())


@pytest.mark.parametrize(("factor", "fires", "quiet"), FACTOR_CASES, ids=FACTOR_IDS)
def test_factor_fires(factor: str, fires: dict[str, Any], quiet: dict[str, Any]) -> None:
    weights = shipped_weights()
    result = score(make_risk_facts(**fires), weights)
    fired = {f.name: f for f in result.factors}
    assert set(fired) == {factor} | COMPANIONS.get(factor, set())
    assert result.score == min(100, sum(weights[name] for name in fired))
    assert fired[factor].points == weights[factor]
    assert fired[factor].detail.endswith(".")


@pytest.mark.parametrize(("factor", "fires", "quiet"), FACTOR_CASES, ids=FACTOR_IDS)
def test_factor_stays_quiet(factor: str, fires: dict[str, Any], quiet: dict[str, Any]) -> None:
    result = score(make_risk_facts(**quiet), shipped_weights())
    assert factor not in [f.name for f in result.factors]


@pytest.mark.parametrize(
    ("today", "baseline", "fires"),
    [
        (5, 0, True),  # a new requester: baseline counts as at least 1 a day
        (4, 0, False),  # fewer than 5 today never fires
        (16, 150, True),  # more than 3x the baseline of 5 a day
        (15, 150, False),  # exactly 3x the baseline
    ],
)
def test_requester_volume_against_baseline(today: int, baseline: int, fires: bool) -> None:
    facts = make_risk_facts(requester_today=today, requester_30d=baseline)
    assert bool(score(facts, {"requester_volume": 10}).factors) is fires


def test_unweighted_or_zero_weighted_factors_do_not_count() -> None:
    facts = make_risk_facts(off_hours=True, earlier_thaws=1)
    result = score(facts, {"off_hours": 0, "earlier_thaws": -5})
    assert result.score == 0
    assert result.factors == ()


def test_score_is_capped_at_100() -> None:
    everything = every_factor_facts()
    result = score(everything, shipped_weights())
    assert len(result.factors) == len(FACTORS)
    assert sum(f.points for f in result.factors) > 100
    assert result.score == 100


def test_details_count_plurals() -> None:
    one = score(make_risk_facts(earlier_thaws=1), {"earlier_thaws": 5}).factors[0].detail
    two = score(make_risk_facts(earlier_thaws=2), {"earlier_thaws": 5}).factors[0].detail
    assert one == "The account was thawed before."
    assert two == "Thawed 2 times before."


@pytest.mark.parametrize("points", sorted(RISK_PRESETS))
def test_risk_presets_score_what_they_say(points: int) -> None:
    """The presets the policy tests lean on score exactly their key under the shipped pack."""
    assert score(risk_facts_scoring(points), shipped_weights()).score == points


# --------------------------------------------------------------------------- events


def usual_history(now: datetime, days: int = 89) -> list[AccountEvent]:
    """A login every three days from the usual phone at home, for the last `days` days."""
    return [
        make_event("login", now - timedelta(days=d, hours=3), device="dev-home", country="DE")
        for d in range(days, 0, -3)
    ]


def textbook_takeover(now: datetime) -> list[AccountEvent]:
    return [
        *usual_history(now),
        make_event("sim_swap", now - 2 * DAY),
        make_event("password_change", now - 2 * DAY + HOUR),
        make_event("login", now - 2 * HOUR, device="dev-evil", country="NG", ip="198.51.100.7"),
    ]


def facts_from(events: list[AccountEvent], account_age_days: int) -> RiskFacts:
    return make_risk_facts(account_age_days=account_age_days, **event_counts(events, NOW))


def test_textbook_takeover_scores_at_least_70() -> None:
    counts = event_counts(textbook_takeover(NOW), NOW)
    assert counts == {
        "credential_changes_7d": 1,
        "sim_or_phone_changes_7d": 1,
        "sim_swaps_7d": 1,
        "new_device_logins_24h": 1,
        "new_country_logins_24h": 1,
        "new_country_logins_7d": 1,
        "withdrawal_addresses_added_7d": 0,
    }
    result = score(facts_from(textbook_takeover(NOW), account_age_days=365), shipped_weights())
    assert result.score >= 70
    assert {f.name for f in result.factors} >= {
        "credential_change_7d",
        "sim_swap_or_phone_change_7d",
        "new_device_24h",
        "new_country_24h",
    }


def test_textbook_takeover_with_a_phone_change_instead_of_a_sim_swap() -> None:
    events = [
        e if e.type != "sim_swap" else make_event("phone_change", e.at)
        for e in textbook_takeover(NOW)
    ]
    assert score(facts_from(events, account_age_days=365), shipped_weights()).score >= 70


def test_quiet_year_old_account_scores_below_30() -> None:
    events = [
        *usual_history(NOW),
        make_event("deposit", NOW - 10 * DAY, amount_usd="250.00"),
        make_event("withdrawal", NOW - 5 * DAY, amount_usd="100.00"),
    ]
    result = score(facts_from(events, account_age_days=365), shipped_weights())
    assert result.score < 30
    assert result.factors == ()


def test_event_order_does_not_matter() -> None:
    events = textbook_takeover(NOW)
    assert event_counts(list(reversed(events)), NOW) == event_counts(events, NOW)


def test_the_very_first_login_is_not_new() -> None:
    counts = event_counts([make_event("login", NOW - HOUR, device="d", country="FR")], NOW)
    assert counts["new_device_logins_24h"] == 0
    assert counts["new_country_logins_24h"] == 0


def test_a_new_country_earlier_this_week_counts_only_for_7d() -> None:
    events = [*usual_history(NOW), make_event("login", NOW - 3 * DAY, country="BR")]
    counts = event_counts(events, NOW)
    assert (counts["new_country_logins_24h"], counts["new_country_logins_7d"]) == (0, 1)
    result = score(facts_from(events, 365), shipped_weights())
    assert [f.name for f in result.factors] == ["new_country_7d"]


def test_a_new_device_older_than_24h_is_not_counted() -> None:
    events = [*usual_history(NOW), make_event("login", NOW - 2 * DAY, device="dev-new")]
    assert event_counts(events, NOW)["new_device_logins_24h"] == 0


def test_a_new_device_seen_twice_counts_once() -> None:
    events = [
        *usual_history(NOW),
        make_event("login", NOW - 3 * HOUR, device="dev-new"),
        make_event("login", NOW - HOUR, device="dev-new"),
    ]
    assert event_counts(events, NOW)["new_device_logins_24h"] == 1


@pytest.mark.parametrize(
    ("event_type", "key"),
    [
        ("password_change", "credential_changes_7d"),
        ("binding_added", "credential_changes_7d"),
        ("binding_removed", "credential_changes_7d"),
        ("sim_swap", "sim_or_phone_changes_7d"),
        ("sim_swap", "sim_swaps_7d"),
        ("phone_change", "sim_or_phone_changes_7d"),
        ("withdrawal_address_added", "withdrawal_addresses_added_7d"),
    ],
)
def test_security_events_count_within_7_days_only(event_type: str, key: str) -> None:
    assert event_counts([make_event(event_type, NOW - 7 * DAY)], NOW)[key] == 1
    assert event_counts([make_event(event_type, NOW - 7 * DAY - HOUR)], NOW)[key] == 0
