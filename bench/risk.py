"""Risk scoring speed: one request in process, and a batch on one core.

Scoring = counting the account's 90 days of events into facts, plus the scorecard. The facts
that come from the database (links, volumes, history) are taken as already read, as the
worker's batch path reads them in a few set-based queries. The requests are those of a
synthetic exchange (5,000 accounts, seed 1), so each has a real history to count.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from thawgate.domain.model import AccountEvent  # noqa: E402  # after the path set-up above
from thawgate.domain.risk import RiskFacts, days_since_login, event_counts, score  # noqa: E402
from thawgate.policy.request_policy import RequestPolicy  # noqa: E402
from thawgate.synth import generate  # noqa: E402

POLICY = ROOT / "policies" / "default" / "request_policy.yaml"
HISTORY = timedelta(days=90)


def score_one(
    events: list[AccountEvent], age_days: int, at: datetime, weights: dict[str, int]
) -> int:
    counts = event_counts(events, at)
    facts = RiskFacts(
        account_age_days=age_days, days_since_login=days_since_login(events, at, age_days), **counts
    )
    return score(facts, weights).score


def main() -> None:
    weights = RequestPolicy.load(POLICY.read_text()).weights
    world = generate(5000, 1)
    cases = []
    for r in world.requests:
        events = [e for e in world.events.get(r.account_id, []) if r.at - HISTORY <= e.at <= r.at]
        age = (r.at - world.accounts[r.account_id].created_at).days
        cases.append((events, age, r.at))
    mean_events = statistics.mean(len(c[0]) for c in cases)
    for c in cases * 3:  # warm up
        score_one(*c, weights)
    samples = []
    for _ in range(20):
        for c in cases:
            t0 = time.perf_counter_ns()
            score_one(*c, weights)
            samples.append((time.perf_counter_ns() - t0) / 1000)
    samples.sort()
    median, p99 = statistics.median(samples), samples[int(len(samples) * 0.99)]
    batch = cases * 40
    t0 = time.perf_counter()
    for c in batch:
        score_one(*c, weights)
    rate = len(batch) / (time.perf_counter() - t0)
    print(f"requests: {len(cases)} distinct, {mean_events:.1f} events each on average")
    print(f"one request: median {median:.1f} µs, p99 {p99:.1f} µs (target median <= 100 µs)")
    print(f"batch of {len(batch)}: {rate:,.0f} requests/s on one core (target >= 20,000)")


if __name__ == "__main__":
    main()
