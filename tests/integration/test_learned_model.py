"""The optional learned model of `thawgate risk evaluate`: trained only on tuning seeds, the same
for the same seeds, and it may only add risk. (Small worlds: a test seed, not an evaluation one.)"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from thawgate.config import Settings
from thawgate.policy.authz import Authorizer
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services.risk_evaluation import evaluate, judge_world, learned
from thawgate.synth import generate

ACCOUNTS = 400


@cache
def shipped() -> tuple[RequestPolicy, Authorizer]:
    pack = Settings().policy_dir
    return (
        RequestPolicy.load((pack / "request_policy.yaml").read_text()),
        Authorizer.from_directory(pack),
    )


@cache
def model() -> learned.LearnedModel:
    return learned.train(*shipped(), accounts=ACCOUNTS, seeds=(1, 2))


def test_the_model_only_adds_risk() -> None:
    verdicts = judge_world(generate(ACCOUNTS, 7), *shipped())
    combined = learned.with_model(verdicts, model())
    for before, after in zip(verdicts, combined, strict=True):
        if before.verdict != "passed":
            assert after == before  # whatever the scorecard stopped stays exactly as it was
        else:
            assert after.verdict in ("passed", "escalated")
            assert (after.verdict == "escalated") == ("learned-model" in after.rules)
    assert sum(v.stopped for v in combined) >= sum(v.stopped for v in verdicts)


def test_training_is_the_same_for_the_same_seeds() -> None:
    verdicts = judge_world(generate(ACCOUNTS, 7), *shipped())
    again = learned.train(*shipped(), accounts=ACCOUNTS, seeds=(1, 2))
    assert model().attack_probability(verdicts) == again.attack_probability(verdicts)
    assert model().samples == again.samples > 0


def test_the_report_compares_it_and_never_trains_on_the_evaluated_seed(tmp_path: Path) -> None:
    summary = evaluate(*shipped(), seed=2, accounts=ACCOUNTS, out=tmp_path, model=True)
    assert summary.learned is not None
    assert summary.learned.trained_on == (1, 3)
    c = summary.learned
    assert c.attack_stopped[1] >= c.attack_stopped[0]
    assert c.benign_escalated[1] >= c.benign_escalated[0]
    text = (tmp_path / "risk-evaluation.md").read_text()
    assert "## The learned model beside the scorecard" in text
    assert "## Post-thaw monitoring (modelled aftermath)" in text
