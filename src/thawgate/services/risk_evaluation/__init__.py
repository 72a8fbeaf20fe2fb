"""`thawgate risk evaluate`: the default policy over a freshly generated, labelled world."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from thawgate.policy.authz import Authorizer
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services.risk_evaluation import learned
from thawgate.services.risk_evaluation.aftermath import summarise_monitoring, watch_passed
from thawgate.services.risk_evaluation.judge import Verdict, judge_world
from thawgate.services.risk_evaluation.report import Summary, summarise, write_report
from thawgate.synth import generate

__all__ = ["Summary", "Verdict", "evaluate", "judge_world"]


def evaluate(
    policy: RequestPolicy,
    authorizer: Authorizer,
    *,
    seed: int,
    accounts: int,
    out: Path | None = None,
    model: bool = False,
) -> Summary:
    """Generate a world for `seed`, judge its stream, and write the report when `out` is given.
    With `model`, also train the learned model on the tuning seeds (never on `seed`) and compare
    it with the scorecard."""
    world = generate(accounts, seed)
    verdicts = judge_world(world, policy, authorizer)
    summary = summarise(verdicts, seed=seed, accounts=accounts, version=policy.version)
    watched = watch_passed(world, verdicts, policy)
    summary = replace(summary, monitoring=summarise_monitoring(watched))
    if model:
        seeds = tuple(s for s in learned.TUNING_SEEDS if s != seed)
        fitted = learned.train(policy, authorizer, accounts=accounts, seeds=seeds)
        combined = learned.with_model(verdicts, fitted)
        summary = replace(summary, learned=learned.compare(verdicts, combined, fitted))
    if out is not None:
        write_report(summary, verdicts, out)
    return summary
