"""The modelled aftermath of executed requests, judged by the shipped monitoring rules as the
evaluation report does (services/risk_evaluation/aftermath.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import default_policy

from thawgate.domain.monitoring import StoredEvent, Window, window_facts
from thawgate.services.risk_evaluation.aftermath import summarise_monitoring, watch_passed
from thawgate.services.risk_evaluation.judge import REVIEW_DELAY, Verdict
from thawgate.synth import generate
from thawgate.synth.aftermath import aftermath
from thawgate.synth.world import BENIGN, World, rng_for


@pytest.fixture(scope="module")
def world() -> World:
    return generate(200, 7)


def passed(world: World) -> list[Verdict]:
    """Every request of the stream, as if review had let it through."""
    return [Verdict(r, "passed", "approval", 0, (), ()) for r in world.requests]


def rules_on(world: World, label: str, style: str, kind: str = "thaw") -> set[str]:
    req = next(r for r in world.requests if (r.label == BENIGN) == (label == BENIGN))
    req = replace(req, label=label, kind=kind)
    executed = req.at + REVIEW_DELAY
    _, events = aftermath(world, req, executed, rng_for(1, "t"), style=style)
    window = Window(req.id, req.account_id, kind, "r", (), executed, executed + 72 * REVIEW_DELAY)
    facts = window_facts(
        window,
        [StoredEvent(i, e) for i, e in enumerate(events)],
        known_countries=frozenset({world.profiles[req.account_id].country}),
        addresses_added={
            e.address: [e.at]
            for e in events
            if e.type == "withdrawal_address_added" and e.address is not None
        },
    )
    policy = default_policy().monitoring
    return {r.id for _, f in facts for r in policy.hits(f)}


def test_each_attacker_style_meets_the_rule_meant_for_it(world: World) -> None:
    assert "withdrawal-to-fresh-address" in rules_on(world, "fresh_ato_thaw", "fresh_address")
    assert rules_on(world, "fresh_ato_thaw", "abroad") == {"new-country-then-withdrawal"}
    assert rules_on(world, "fresh_ato_thaw", "lockout") == {"another-credential-change"}
    assert rules_on(world, "fresh_ato_thaw", "quiet") == set()  # the patient attacker escapes


def test_quiet_owners_and_a_new_authenticator_after_an_unbind_raise_nothing(world: World) -> None:
    assert rules_on(world, BENIGN, "quiet") == set()
    assert rules_on(world, BENIGN, "quiet", kind="unbind") == set()
    assert rules_on(world, BENIGN, "old_address") == set()


def test_the_aftermath_is_the_same_for_the_same_seed(world: World) -> None:
    first = watch_passed(world, passed(world), default_policy())
    again = watch_passed(generate(200, 7), passed(world), default_policy())
    assert [(w.style, w.rules) for w in first] == [(w.style, w.rules) for w in again]
    summary = summarise_monitoring(first)
    assert summary.attack_passed + summary.benign_passed == len(world.requests)
    assert 0 < summary.attack_caught <= summary.attack_passed
    assert sum(summary.per_rule.values()) >= summary.attack_caught
