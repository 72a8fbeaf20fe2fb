"""The state digest approvals are bound to (floor item 6): risk is left out, the rest is in."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import make_decision, make_targets

from thawgate.domain.decision import (
    Clause,
    Decision,
    EvidenceRequirement,
    PlanOp,
    RiskFactor,
    RiskScore,
    TargetState,
    state_digest,
)

BASE_DECISION = make_decision(
    required_approvals=(Clause("fraud_reviewer", 1), Clause("senior_fraud_reviewer", 1)),
    min_teams=0,
    evidence_required=(EvidenceRequirement(("KYC_LIVENESS_PASS",), 72),),
    risk=RiskScore(70, (RiskFactor("new_device_24h", 15, "A new device."),)),
    plan=(
        PlanOp(op="lift_restriction", target="rst-1", expected_version=1),
        PlanOp(
            op="place_restriction", scope="withdraw", reason="SECURITY_COOLDOWN", duration_hours=24
        ),
    ),
)
BASE_TARGETS = [TargetState("rst-1", 1, "active"), TargetState("rst-2", 3, "active")]
BASE = state_digest(BASE_TARGETS, BASE_DECISION)

SAME: dict[str, tuple[list[TargetState], Decision]] = {
    "risk score only": (BASE_TARGETS, replace(BASE_DECISION, risk=RiskScore(12))),
    "risk factors only": (
        BASE_TARGETS,
        replace(
            BASE_DECISION, risk=RiskScore(70, (RiskFactor("off_hours", 70, "Late at night."),))
        ),
    ),
    "no risk at all": (BASE_TARGETS, replace(BASE_DECISION, risk=RiskScore(0, ()))),
    "targets reordered": (list(reversed(BASE_TARGETS)), BASE_DECISION),
    "clauses reordered": (
        BASE_TARGETS,
        replace(
            BASE_DECISION,
            required_approvals=tuple(reversed(BASE_DECISION.required_approvals)),
        ),
    ),
}

CHANGED: dict[str, tuple[list[TargetState], Decision]] = {
    "target version": (
        [TargetState("rst-1", 2, "active"), BASE_TARGETS[1]],
        BASE_DECISION,
    ),
    "target status": (
        [TargetState("rst-1", 1, "lifted"), BASE_TARGETS[1]],
        BASE_DECISION,
    ),
    "target id": ([TargetState("rst-9", 1, "active"), BASE_TARGETS[1]], BASE_DECISION),
    "target dropped": (BASE_TARGETS[:1], BASE_DECISION),
    "outcome": (BASE_TARGETS, replace(BASE_DECISION, outcome="approve")),
    "clause count": (
        BASE_TARGETS,
        replace(
            BASE_DECISION,
            required_approvals=(Clause("fraud_reviewer", 2), Clause("senior_fraud_reviewer", 1)),
        ),
    ),
    "clause role": (
        BASE_TARGETS,
        replace(
            BASE_DECISION,
            required_approvals=(Clause("fraud_reviewer", 1), Clause("legal_reviewer", 1)),
        ),
    ),
    "clause added": (
        BASE_TARGETS,
        replace(
            BASE_DECISION,
            required_approvals=(*BASE_DECISION.required_approvals, Clause("legal_reviewer", 1)),
        ),
    ),
    "min_teams": (BASE_TARGETS, replace(BASE_DECISION, min_teams=2)),
    "evidence type": (
        BASE_TARGETS,
        replace(
            BASE_DECISION, evidence_required=(EvidenceRequirement(("VIDEO_VERIFICATION",), 72),)
        ),
    ),
    "evidence max age": (
        BASE_TARGETS,
        replace(
            BASE_DECISION, evidence_required=(EvidenceRequirement(("KYC_LIVENESS_PASS",), 24),)
        ),
    ),
    "evidence added": (
        BASE_TARGETS,
        replace(
            BASE_DECISION,
            evidence_required=(
                *BASE_DECISION.evidence_required,
                EvidenceRequirement(("SIM_SWAP_CHECK_CLEAR", "VIDEO_VERIFICATION"), 24),
            ),
        ),
    ),
    "plan op duration": (
        BASE_TARGETS,
        replace(
            BASE_DECISION,
            plan=(
                BASE_DECISION.plan[0],
                replace(BASE_DECISION.plan[1], duration_hours=48),
            ),
        ),
    ),
    "plan expected version": (
        BASE_TARGETS,
        replace(
            BASE_DECISION,
            plan=(replace(BASE_DECISION.plan[0], expected_version=2), BASE_DECISION.plan[1]),
        ),
    ),
    "plan op dropped": (BASE_TARGETS, replace(BASE_DECISION, plan=BASE_DECISION.plan[:1])),
}


@pytest.mark.parametrize("case", sorted(SAME))
def test_digest_unchanged(case: str) -> None:
    targets, decision = SAME[case]
    assert state_digest(targets, decision) == BASE


@pytest.mark.parametrize("case", sorted(CHANGED))
def test_digest_changes(case: str) -> None:
    targets, decision = CHANGED[case]
    assert state_digest(targets, decision) != BASE


def test_digest_is_deterministic_and_hex() -> None:
    again = state_digest(make_targets(), make_decision())
    assert again == state_digest(make_targets(), make_decision())
    assert len(again) == 64
    int(again, 16)
