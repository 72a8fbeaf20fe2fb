"""`make bench`: one full decision in process, warm.

Cedar authorization with schema-valid entities, plus the request policy (CEL), plus the risk
scorecard. Prints median and p99, and the share of each part. No database: this is the pure
decision the services make at intake, at each approval and before execution.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from thawgate.domain.decision import PlanOp  # noqa: E402  # after the path set-up above
from thawgate.domain.request import Evidence  # noqa: E402
from thawgate.domain.risk import RiskFacts  # noqa: E402
from thawgate.policy.authz import Actor, Authorizer, RequestResource  # noqa: E402
from thawgate.policy.request_policy import DecisionFacts, RequestPolicy  # noqa: E402

N = 20_000
POLICY_DIR = ROOT / "policies" / "default"


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    authorizer = Authorizer.from_directory(POLICY_DIR)
    policy = RequestPolicy.load((POLICY_DIR / "request_policy.yaml").read_text())
    now = datetime.now(UTC)
    actor = Actor(id="alice", team="customer_support", roles=frozenset({"requester"}))
    facts = DecisionFacts(
        kind="thaw",
        reasons=("ATO_SUSPECTED",),
        reason_classes=("standard",),
        binding_types=(),
        requester_roles=("requester",),
        requester_team="customer_support",
        youngest_target_age_minutes=3000,
        target_count=1,
        risk=RiskFacts(account_age_days=400, new_device_logins_24h=1, requester_today=2),
    )
    evidence = [Evidence("KYC_LIVENESS_PASS", "k-1", now - timedelta(hours=1))]
    plan = (PlanOp(op="lift_restriction", target="r-1", expected_version=1),)
    parts: dict[str, list[float]] = {"authz": [], "policy+risk": [], "total": []}
    for i in range(N + 2000):
        resource = RequestResource(
            id=f"req-{i}",
            requester="alice",
            account_id="10001",
            kind="thaw",
            reasons=frozenset({"ATO_SUSPECTED"}),
            binding_types=frozenset(),
            clause_roles=frozenset(),
        )
        t0 = time.perf_counter_ns()
        allowed = authorizer.authorize(actor, "submit_request", resource).allowed
        t1 = time.perf_counter_ns()
        decision = policy.decide(
            facts, evidence, as_of=now, not_before=now - timedelta(days=2), base_plan=plan
        )
        t2 = time.perf_counter_ns()
        if not allowed or decision.outcome != "review":
            raise SystemExit(f"unexpected decision: allowed={allowed}, {decision.outcome}")
        if i >= 2000:  # warm-up excluded
            parts["authz"].append((t1 - t0) / 1000)
            parts["policy+risk"].append((t2 - t1) / 1000)
            parts["total"].append((t2 - t0) / 1000)
    print(f"full decision, {N} runs, warm (microseconds)")
    print(f"{'part':12} {'median':>8} {'p99':>8}")
    for name, samples in parts.items():
        print(f"{name:12} {statistics.median(samples):8.1f} {_percentile(samples, 0.99):8.1f}")
    total = parts["total"]
    ok = statistics.median(total) <= 250 and _percentile(total, 0.99) <= 1000
    print(f"target median <= 250 us, p99 <= 1000 us: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
