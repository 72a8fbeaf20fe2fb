"""Would post-thaw monitoring have caught what review let through? Each request that passed is
executed (in the model) as its approval arrives, followed by a modelled aftermath
(synth/aftermath.py), which the pack's monitoring rules judge exactly as `services.monitoring`
does: the same facts (domain/monitoring.py), the same rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from thawgate.domain.monitoring import ESTABLISHED_AFTER, StoredEvent, Window, window_facts
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services.risk_evaluation.judge import REVIEW_DELAY, Verdict
from thawgate.synth.aftermath import aftermath
from thawgate.synth.world import BENIGN, World, rng_for


@dataclass(frozen=True, slots=True)
class Watched:
    verdict: Verdict
    style: str  # the modelled behaviour drawn
    rules: tuple[str, ...]  # the monitoring rules that fired

    @property
    def caught(self) -> bool:
        return bool(self.rules)


@dataclass(frozen=True, slots=True)
class MonitoringSummary:
    attack_passed: int
    attack_caught: int
    benign_passed: int
    benign_alarmed: int
    per_rule: dict[str, int]


def watch_passed(world: World, verdicts: list[Verdict], policy: RequestPolicy) -> list[Watched]:
    rng = rng_for(world.seed, "aftermath")
    hours = policy.monitoring.window_hours
    out = []
    for v in verdicts:
        if v.stopped:
            continue
        req = v.request
        executed = req.at + REVIEW_DELAY
        style, events = aftermath(world, req, executed, rng)
        history = [e for e in world.events.get(req.account_id, ()) if e.at < executed]
        window = Window(
            req.id,
            req.account_id,
            req.kind,
            req.requester,
            (),
            executed,
            executed + timedelta(hours=hours),
        )
        added: dict[str, list[datetime]] = {}
        for e in (*history, *events):
            if e.type == "withdrawal_address_added" and e.address:
                added.setdefault(e.address, []).append(e.at)
        facts = window_facts(
            window,
            [StoredEvent(i, e) for i, e in enumerate(events)],
            known_countries=frozenset(
                e.country for e in history if e.country and e.at < executed - ESTABLISHED_AFTER
            ),
            addresses_added=added,
        )
        fired = sorted({r.id for _, f in facts for r in policy.monitoring.hits(f)})
        out.append(Watched(v, style, tuple(fired)))
    return out


def summarise_monitoring(watched: list[Watched]) -> MonitoringSummary:
    attack = [w for w in watched if w.verdict.request.label != BENIGN]
    benign = [w for w in watched if w.verdict.request.label == BENIGN]
    return MonitoringSummary(
        attack_passed=len(attack),
        attack_caught=sum(w.caught for w in attack),
        benign_passed=len(benign),
        benign_alarmed=sum(w.caught for w in benign),
        per_rule=dict(Counter(r for w in watched for r in w.rules)),
    )
