"""The optional learned model (issue 5): gradient boosting (scikit-learn) trained on the labelled
request streams of the tuning seeds, compared with the scorecard in the evaluation report.

It may only add risk: a request the scorecard stopped stays stopped; a request it let pass is
escalated (a senior fraud reviewer added) when the model's attack probability reaches
`THRESHOLD`. It never removes a rule's requirement. It reads the same facts as the scorecard
(`RiskFacts`), and is trained at evaluation time, never on an evaluation seed: nothing is stored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields, replace

from thawgate.domain.risk import RiskFacts
from thawgate.policy.authz import Authorizer
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services.risk_evaluation.judge import Verdict, judge_world
from thawgate.synth import generate
from thawgate.synth.world import BENIGN, SCENARIOS

TUNING_SEEDS = (1, 2, 3)
THRESHOLD = 0.5
FEATURES = tuple(f.name for f in fields(RiskFacts))


def features(v: Verdict) -> list[float]:
    """The model's inputs: every RiskFacts count (0 when the request never reached scoring)
    and whether it is an unbind."""
    risk = v.risk or RiskFacts(account_age_days=0)
    return [float(getattr(risk, name)) for name in FEATURES] + [float(v.request.kind == "unbind")]


@dataclass(frozen=True, slots=True)
class LearnedModel:
    classifier: object  # a fitted sklearn GradientBoostingClassifier
    trained_on: tuple[int, ...]
    samples: int

    def attack_probability(self, verdicts: list[Verdict]) -> list[float]:
        if not verdicts:
            return []
        proba = self.classifier.predict_proba([features(v) for v in verdicts])  # type: ignore[attr-defined]
        return [float(p[1]) for p in proba]


def train(
    policy: RequestPolicy,
    authorizer: Authorizer,
    *,
    accounts: int,
    seeds: tuple[int, ...] = TUNING_SEEDS,
) -> LearnedModel:
    """Fit on the labelled streams of the tuning seeds (attack = 1, benign = 0). Deterministic."""
    from sklearn.ensemble import (  # type: ignore[import-untyped]  # scikit-learn ships no stubs
        GradientBoostingClassifier,
    )

    xs: list[list[float]] = []
    ys: list[int] = []
    for seed in seeds:
        for v in judge_world(generate(accounts, seed), policy, authorizer):
            if v.verdict == "refused":
                continue  # refused at intake: never scored, nothing to learn from
            xs.append(features(v))
            ys.append(int(v.request.label != BENIGN))
    classifier = GradientBoostingClassifier(
        n_estimators=150, max_depth=3, learning_rate=0.1, random_state=0
    )
    classifier.fit(xs, ys)
    return LearnedModel(classifier, seeds, len(xs))


def with_model(verdicts: list[Verdict], model: LearnedModel) -> list[Verdict]:
    """The scorecard's verdicts with the model's escalations added: only ever `passed` ->
    `escalated`, never the other way."""
    out = []
    for v, p in zip(verdicts, model.attack_probability(verdicts), strict=True):
        if v.verdict == "passed" and p >= THRESHOLD:
            v = replace(v, verdict="escalated", rules=(*v.rules, "learned-model"))
        out.append(v)
    return out


@dataclass(frozen=True, slots=True)
class Comparison:
    """Stopped shares per label, scorecard alone and scorecard + model."""

    trained_on: tuple[int, ...]
    samples: int
    scorecard: dict[str, float]
    combined: dict[str, float]
    benign_escalated: tuple[float, float]  # scorecard, combined
    attack_stopped: tuple[float, float]


def compare(verdicts: list[Verdict], combined: list[Verdict], model: LearnedModel) -> Comparison:
    def stopped(vs: list[Verdict]) -> dict[str, float]:
        n = Counter(v.request.label for v in vs)
        s = Counter(v.request.label for v in vs if v.stopped)
        return {label: s[label] / n[label] if n[label] else 0.0 for label in (BENIGN, *SCENARIOS)}

    def friction(vs: list[Verdict]) -> float:
        benign = [v for v in vs if v.request.label == BENIGN]
        return sum(v.verdict == "escalated" for v in benign) / len(benign) if benign else 0.0

    def attacks(vs: list[Verdict]) -> float:
        a = [v for v in vs if v.request.label != BENIGN]
        return sum(v.stopped for v in a) / len(a) if a else 0.0

    return Comparison(
        trained_on=model.trained_on,
        samples=model.samples,
        scorecard=stopped(verdicts),
        combined=stopped(combined),
        benign_escalated=(friction(verdicts), friction(combined)),
        attack_stopped=(attacks(verdicts), attacks(combined)),
    )
