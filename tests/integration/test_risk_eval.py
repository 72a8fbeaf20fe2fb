"""`thawgate risk evaluate` on a fixed test seed: each attack scenario is stopped, benign
traffic flows, and the report is written. (Not an evaluation seed: see docs/risk.md.)"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from thawgate.config import Settings
from thawgate.policy.authz import Authorizer
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services.risk_evaluation import Verdict, evaluate, judge_world
from thawgate.synth import BENIGN, SCENARIOS, generate

TEST_SEED = 7
ACCOUNTS = 1000


@cache
def shipped() -> tuple[RequestPolicy, Authorizer]:
    pack = Settings().policy_dir
    return (
        RequestPolicy.load((pack / "request_policy.yaml").read_text()),
        Authorizer.from_directory(pack),
    )


@cache
def verdicts() -> tuple[Verdict, ...]:
    return tuple(judge_world(generate(ACCOUNTS, TEST_SEED), *shipped()))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_attack_scenario_is_stopped(scenario: str) -> None:
    mine = [v for v in verdicts() if v.request.label == scenario]
    assert mine
    stopped = sum(v.stopped for v in mine)
    assert stopped / len(mine) >= 0.8, Counter(v.verdict for v in mine)


def test_legal_hold_lifts_by_support_are_refused_by_authorization() -> None:
    mine = [v for v in verdicts() if v.request.label == "legal_hold_by_support"]
    assert {v.verdict for v in mine} == {"refused"}


def test_fresh_freezes_gain_a_senior_reviewer_or_are_rejected() -> None:
    mine = [v for v in verdicts() if v.request.label == "fresh_ato_thaw"]
    assert all(v.verdict in ("escalated", "rejected") for v in mine)
    assert any("fresh-freeze" in v.rules for v in mine if v.verdict == "escalated")


def test_collusion_is_caught_when_the_partner_approves() -> None:
    mine = [v for v in verdicts() if v.request.label == "collusion_pair"]
    assert all("pair_recurrence" in v.factors for v in mine if v.stage == "approval")
    assert any(v.stage == "approval" for v in mine)


def test_benign_friction_stays_low() -> None:
    benign = [v for v in verdicts() if v.request.label == BENIGN]
    escalated = sum(v.verdict == "escalated" for v in benign)
    assert escalated / len(benign) <= 0.10


def test_the_report_is_written_with_charts(tmp_path: Path) -> None:
    summary = evaluate(*shipped(), seed=TEST_SEED, accounts=300, out=tmp_path)
    text = (tmp_path / "risk-evaluation.md").read_text()
    assert "| collusion_pair |" in text
    assert "Benign requests escalated" in text
    assert (tmp_path / "scores.png").stat().st_size > 1000
    assert (tmp_path / "scores-by-scenario.png").stat().st_size > 1000
    assert 0.0 <= summary.benign_escalated <= 1.0
