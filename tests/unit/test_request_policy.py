"""The shipped request policy pack, rule by rule, how rules combine, and load-time checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import yaml
from factories import (
    HOUR,
    NOW,
    all_evidence,
    default_policy,
    default_policy_text,
    make_evidence,
    make_facts,
    make_unbind_facts,
    risk_facts_scoring,
)

from thawgate.domain.decision import Clause, Decision, EvidenceRequirement, PlanOp
from thawgate.domain.errors import PolicyError
from thawgate.domain.request import Evidence
from thawgate.policy.request_policy import DecisionFacts, RequestPolicy

LIFT = PlanOp(op="lift_restriction", target="rst-1", expected_version=1)
REMOVE = PlanOp(op="remove_binding", target="bnd-1", expected_version=1)
FRAUD = Clause("fraud_reviewer", 1)
SENIOR = Clause("senior_fraud_reviewer", 1)


def decide(
    facts: DecisionFacts,
    evidence: list[Evidence] | None = None,
    *,
    not_before: datetime | None = None,
    base_plan: tuple[PlanOp, ...] = (),
    policy: RequestPolicy | None = None,
) -> Decision:
    return (policy or default_policy()).decide(
        facts,
        all_evidence() if evidence is None else evidence,
        as_of=NOW,
        not_before=not_before,
        base_plan=base_plan,
    )


def thaw(*reasons: str, **over: Any) -> DecisionFacts:
    classes = {
        "LAW_ENFORCEMENT": "legal_hold",
        "COURT_ORDER": "legal_hold",
        "AML_REVIEW": "regulatory",
        "KYC_INCOMPLETE": "regulatory",
        "SANCTIONS_HIT": "non_liftable",
        "SECURITY_COOLDOWN": "non_liftable",
    }
    defaults: dict[str, Any] = {
        "reasons": tuple(sorted(reasons)),
        "reason_classes": tuple(sorted({classes.get(r, "standard") for r in reasons})),
        "target_count": len(reasons),
    }
    return make_facts(**{**defaults, **over})


def at_risk(points: int) -> dict[str, Any]:
    return {"risk": risk_facts_scoring(points)}


def rule_ids(decision: Decision) -> list[str]:
    return [r.id for r in decision.rules]


# --------------------------------------------------------------------------- every rule, both ways

# (rule id, facts on which it fires, facts right beside them on which it does not)
RULE_CASES: list[tuple[str, DecisionFacts, DecisionFacts]] = [
    ("sanctions-not-via-thaw", thaw("SANCTIONS_HIT"), thaw("AML_REVIEW")),
    ("cooldown-not-shortened", thaw("SECURITY_COOLDOWN"), thaw("ATO_SUSPECTED")),
    ("extreme-risk", thaw("ATO_SUSPECTED", **at_risk(90)), thaw("ATO_SUSPECTED", **at_risk(85))),
    ("legal-hold", thaw("LAW_ENFORCEMENT"), thaw("ATO_SUSPECTED")),
    ("aml-review", thaw("AML_REVIEW"), thaw("KYC_INCOMPLETE")),
    ("kyc-incomplete", thaw("KYC_INCOMPLETE"), thaw("AML_REVIEW")),
    ("ato-thaw", thaw("ATO_SUSPECTED"), thaw("RISK_RULE_HIT")),
    ("p2p-dispute", thaw("P2P_DISPUTE"), thaw("RISK_RULE_HIT")),
    ("risk-rule", thaw("RISK_RULE_HIT"), thaw("P2P_DISPUTE")),
    ("self-freeze", thaw("USER_SELF_FREEZE"), thaw("ATO_SUSPECTED")),
    ("credential-unbind", make_unbind_facts("TOTP"), make_unbind_facts("DEVICE")),
    (
        "credential-unbind-risky",
        make_unbind_facts("TOTP", **at_risk(70)),
        make_unbind_facts("TOTP", **at_risk(65)),
    ),
    ("phone-sim-check", make_unbind_facts("SMS_PHONE"), make_unbind_facts("EMAIL")),
    ("protective-unbind", make_unbind_facts("API_KEY"), make_unbind_facts("PASSKEY")),
    ("high-risk", thaw("ATO_SUSPECTED", **at_risk(70)), thaw("ATO_SUSPECTED", **at_risk(65))),
    (
        "fresh-freeze",
        thaw("ATO_SUSPECTED", youngest_target_age_minutes=59),
        thaw("ATO_SUSPECTED", youngest_target_age_minutes=60),
    ),
]
RULE_IDS = [case[0] for case in RULE_CASES]


def test_the_table_covers_every_shipped_rule() -> None:
    assert [r.id for r in default_policy().rules] == RULE_IDS


@pytest.mark.parametrize(("rule_id", "fires", "quiet"), RULE_CASES, ids=RULE_IDS)
def test_rule_fires(rule_id: str, fires: DecisionFacts, quiet: DecisionFacts) -> None:
    decision = decide(fires)
    assert rule_id in rule_ids(decision)
    hit = next(r for r in decision.rules if r.id == rule_id)
    assert hit.message
    if hit.effect == "reject":
        assert decision.outcome == "reject"
        assert decision.rejecting_rule == hit
        assert decision.required_approvals == ()
    else:
        assert "evidence-missing" not in rule_ids(decision)


@pytest.mark.parametrize(("rule_id", "fires", "quiet"), RULE_CASES, ids=RULE_IDS)
def test_rule_stays_quiet(rule_id: str, fires: DecisionFacts, quiet: DecisionFacts) -> None:
    decision = decide(quiet)
    assert rule_id not in rule_ids(decision)
    assert decision.outcome != "reject"


def test_the_first_matching_reject_wins() -> None:
    decision = decide(thaw("SANCTIONS_HIT", "SECURITY_COOLDOWN", **at_risk(90)))
    assert rule_ids(decision) == ["sanctions-not-via-thaw"]
    assert decision.rejecting_rule is not None
    assert decision.rejecting_rule.message == "SANCTIONS_HIT is lifted only by sanctions screening"


@pytest.mark.parametrize("team", ["legal", "compliance", "security"])
def test_a_sanctions_hit_is_rejected_whoever_asks(team: str) -> None:
    decision = decide(thaw("SANCTIONS_HIT", requester_team=team))
    assert decision.outcome == "reject"


def test_a_reject_keeps_the_base_plan_and_no_requirements() -> None:
    decision = decide(thaw("SECURITY_COOLDOWN"), base_plan=(LIFT,))
    assert (decision.outcome, decision.plan) == ("reject", (LIFT,))
    assert (decision.required_approvals, decision.evidence_required, decision.min_teams) == (
        (),
        (),
        0,
    )


# --------------------------------------------------------------------------- extreme risk


@pytest.mark.parametrize(
    "bindings",
    [("DEVICE",), ("WITHDRAWAL_ADDRESS",), ("API_KEY",), ("API_KEY", "DEVICE")],
)
def test_extreme_risk_never_rejects_a_protective_unbind(bindings: tuple[str, ...]) -> None:
    decision = decide(make_unbind_facts(*bindings, **at_risk(90)))
    assert decision.risk.score == 90
    assert decision.outcome == "review"
    assert "extreme-risk" not in rule_ids(decision)
    assert set(decision.required_approvals) == {FRAUD, SENIOR}


def test_extreme_risk_rejects_a_protective_unbind_mixed_with_a_credential() -> None:
    decision = decide(make_unbind_facts("DEVICE", "TOTP", **at_risk(90)))
    assert decision.rejecting_rule is not None
    assert decision.rejecting_rule.id == "extreme-risk"


@pytest.mark.parametrize(
    ("reason", "order"),
    [("LAW_ENFORCEMENT", "LE_RELEASE_ORDER"), ("COURT_ORDER", "COURT_RELEASE_ORDER")],
)
def test_extreme_risk_never_rejects_a_legal_hold(reason: str, order: str) -> None:
    decision = decide(thaw(reason, **at_risk(90)))
    assert decision.outcome == "review"
    assert "extreme-risk" not in rule_ids(decision)
    assert set(decision.required_approvals) == {Clause("legal_reviewer", 1), SENIOR}
    assert decision.min_teams == 2
    assert decision.evidence_required == (EvidenceRequirement((order,), 720),)


def test_legal_hold_with_both_reasons_needs_both_orders() -> None:
    decision = decide(thaw("LAW_ENFORCEMENT", "COURT_ORDER"))
    assert {e.label for e in decision.evidence_required} == {
        "LE_RELEASE_ORDER",
        "COURT_RELEASE_ORDER",
    }


# --------------------------------------------------------------------------- self-freeze


@pytest.mark.parametrize(
    ("roles", "points", "outcome"),
    [
        pytest.param(("self_service",), 0, "approve", id="app-quiet"),
        pytest.param(("self_service",), 25, "approve", id="app-just-below-30"),
        pytest.param(("self_service",), 30, "review", id="app-at-30"),
        pytest.param(("self_service",), 50, "review", id="app-risky"),
        pytest.param(("requester",), 0, "review", id="human-agent-quiet"),
        pytest.param(("requester",), 25, "review", id="human-agent-low"),
    ],
)
def test_self_freeze_auto_approves_only_from_the_app_below_30(
    roles: tuple[str, ...], points: int, outcome: str
) -> None:
    decision = decide(thaw("USER_SELF_FREEZE", requester_roles=roles, **at_risk(points)))
    assert decision.risk.score == points
    assert decision.outcome == outcome
    if outcome == "approve":
        assert decision.required_approvals == ()
    else:
        assert FRAUD in decision.required_approvals
    assert decision.evidence_required == (EvidenceRequirement(("USER_IDENTITY_VERIFIED",), 24),)


def test_self_freeze_from_the_app_still_needs_fresh_identity() -> None:
    stale = make_evidence(type="USER_IDENTITY_VERIFIED", observed_at=NOW - 25 * HOUR)
    decision = decide(thaw("USER_SELF_FREEZE", requester_roles=("self_service",)), [stale])
    assert decision.outcome == "reject"
    assert decision.missing_evidence == ("USER_IDENTITY_VERIFIED",)


def test_self_freeze_right_after_freezing_is_not_auto_approved() -> None:
    facts = thaw(
        "USER_SELF_FREEZE", requester_roles=("self_service",), youngest_target_age_minutes=5
    )
    decision = decide(facts)
    assert decision.outcome == "review"
    assert decision.required_approvals == (SENIOR,)


# --------------------------------------------------------------------------- unbinds


@pytest.mark.parametrize(
    ("points", "outcome", "clauses"),
    [(0, "approve", ()), (45, "approve", ()), (50, "review", (FRAUD,)), (65, "review", (FRAUD,))],
)
def test_protective_unbind_auto_approves_below_50(
    points: int, outcome: str, clauses: tuple[Clause, ...]
) -> None:
    decision = decide(make_unbind_facts("DEVICE", **at_risk(points)), [])
    assert decision.outcome == outcome
    assert decision.required_approvals == clauses
    assert decision.evidence_required == ()
    assert decision.plan == ()


@pytest.mark.parametrize(
    ("binding", "hours"),
    [("TOTP", 48), ("SMS_PHONE", 24), ("EMAIL", 24), ("PASSKEY", 24)],
)
def test_credential_unbind_plans_a_security_cooldown(binding: str, hours: int) -> None:
    decision = decide(make_unbind_facts(binding), base_plan=(REMOVE,))
    assert decision.outcome == "review"
    assert decision.plan[0] == REMOVE
    cooldowns = decision.plan[1:]
    assert len(cooldowns) == 3
    assert {op.scope for op in cooldowns} == {"withdraw", "transfer", "p2p"}
    for op in cooldowns:
        assert (op.op, op.reason, op.duration_hours) == (
            "place_restriction",
            "SECURITY_COOLDOWN",
            hours,
        )
    assert FRAUD in decision.required_approvals
    assert EvidenceRequirement(("KYC_LIVENESS_PASS",), 72) in decision.evidence_required


def test_totp_with_another_credential_plans_one_48h_cooldown() -> None:
    decision = decide(make_unbind_facts("TOTP", "EMAIL"))
    assert [op.duration_hours for op in decision.plan] == [48, 48, 48]


def test_risky_credential_unbind_adds_video_and_a_senior() -> None:
    decision = decide(make_unbind_facts("EMAIL", **at_risk(70)))
    assert {e.label for e in decision.evidence_required} == {
        "KYC_LIVENESS_PASS",
        "VIDEO_VERIFICATION",
    }
    assert set(decision.required_approvals) == {FRAUD, SENIOR}


def test_a_sim_swap_victim_unbinds_the_phone_with_a_video_call() -> None:
    evidence = [
        make_evidence(type="KYC_LIVENESS_PASS"),
        make_evidence(type="VIDEO_VERIFICATION", reference="call-1"),
    ]
    decision = decide(make_unbind_facts("SMS_PHONE"), evidence)
    assert decision.outcome == "review"
    assert decision.missing_evidence == ()


# --------------------------------------------------------------------------- missing evidence


def test_missing_evidence_rejects_and_lists_alternatives() -> None:
    decision = decide(make_unbind_facts("SMS_PHONE"), [make_evidence(type="KYC_LIVENESS_PASS")])
    assert decision.outcome == "reject"
    assert decision.missing_evidence == ("SIM_SWAP_CHECK_CLEAR|VIDEO_VERIFICATION",)
    assert decision.rejecting_rule is not None
    assert decision.rejecting_rule.id == "evidence-missing"
    assert "SIM_SWAP_CHECK_CLEAR|VIDEO_VERIFICATION" in decision.rejecting_rule.message
    assert decision.required_approvals == ()
    assert {"credential-unbind", "phone-sim-check"} <= set(rule_ids(decision))


def test_no_evidence_lists_every_requirement() -> None:
    decision = decide(make_unbind_facts("SMS_PHONE", **at_risk(70)), [])
    assert set(decision.missing_evidence) == {
        "KYC_LIVENESS_PASS",
        "VIDEO_VERIFICATION",
        "SIM_SWAP_CHECK_CLEAR|VIDEO_VERIFICATION",
    }


def test_evidence_past_its_max_age_is_missing() -> None:
    old = make_evidence(type="KYC_LIVENESS_PASS", observed_at=NOW - 73 * HOUR)
    decision = decide(thaw("ATO_SUSPECTED"), [old])
    assert decision.missing_evidence == ("KYC_LIVENESS_PASS",)


def test_evidence_older_than_not_before_does_not_count() -> None:
    liveness = make_evidence(type="KYC_LIVENESS_PASS", observed_at=NOW - 2 * HOUR)
    before = decide(thaw("ATO_SUSPECTED"), [liveness], not_before=NOW - HOUR)
    assert before.outcome == "reject"
    assert before.missing_evidence == ("KYC_LIVENESS_PASS",)
    after = decide(thaw("ATO_SUSPECTED"), [liveness], not_before=NOW - 3 * HOUR)
    assert after.outcome == "review"


# --------------------------------------------------------------------------- how rules combine


def test_requirements_of_matching_rules_add_up() -> None:
    decision = decide(thaw("ATO_SUSPECTED", "AML_REVIEW"))
    assert rule_ids(decision) == ["aml-review", "ato-thaw"]
    assert set(decision.required_approvals) == {Clause("compliance_reviewer", 1), FRAUD}
    assert decision.min_teams == 2
    assert set(decision.evidence_required) == {
        EvidenceRequirement(("AML_CASE_CLOSED",), 720),
        EvidenceRequirement(("KYC_LIVENESS_PASS",), 72),
    }


def test_the_same_role_from_two_rules_is_one_clause() -> None:
    decision = decide(thaw("ATO_SUSPECTED", youngest_target_age_minutes=5, **at_risk(70)))
    assert {"high-risk", "fresh-freeze"} <= set(rule_ids(decision))
    assert set(decision.required_approvals) == {FRAUD, SENIOR}


def test_min_teams_is_the_highest_asked_for() -> None:
    decision = decide(thaw("LAW_ENFORCEMENT", "RISK_RULE_HIT"))
    assert decision.min_teams == 2
    assert set(decision.required_approvals) == {Clause("legal_reviewer", 1), SENIOR, FRAUD}


def test_a_rule_less_request_falls_back_to_the_default_clause() -> None:
    decision = decide(make_facts(reasons=(), reason_classes=(), target_count=0), [])
    assert decision.outcome == "review"
    assert decision.required_approvals == (FRAUD,)
    assert rule_ids(decision) == ["default-review"]


CUSTOM = """
name: custom
settings:
  default_clause: {role: senior_fraud_reviewer, count: 2}
scorecard: {off_hours: 50}
rules:
  - id: two-fraud
    when: '"ATO_SUSPECTED" in reasons'
    effect: require
    message: two, strict, three teams
    evidence: [{type: KYC_LIVENESS_PASS, max_age_hours: 24}]
    approvals: [{role: fraud_reviewer, count: 2}]
    min_teams: 3
  - id: one-fraud
    when: risk_score >= 50
    effect: require
    message: one, lax, one team
    evidence: [{type: KYC_LIVENESS_PASS, max_age_hours: 72}]
    approvals: [{role: fraud_reviewer, count: 1}]
    min_teams: 1
  - id: evidence-only
    when: '"RISK_RULE_HIT" in reasons'
    effect: require
    message: only evidence, no clause and no auto-approve
    evidence: [{type: OUT_OF_BAND_CALLBACK, max_age_hours: 24}]
"""


@pytest.fixture(scope="module")
def custom() -> RequestPolicy:
    return RequestPolicy.load(CUSTOM)


def test_union_keeps_the_higher_count_stricter_age_and_highest_min_teams(
    custom: RequestPolicy,
) -> None:
    facts = thaw("ATO_SUSPECTED", risk=risk_facts_scoring(0, off_hours=True))
    decision = decide(facts, policy=custom)
    assert rule_ids(decision) == ["two-fraud", "one-fraud"]
    assert decision.required_approvals == (Clause("fraud_reviewer", 2),)
    assert decision.evidence_required == (EvidenceRequirement(("KYC_LIVENESS_PASS",), 24),)
    assert decision.min_teams == 3


def test_no_clause_and_no_auto_approve_fails_closed(custom: RequestPolicy) -> None:
    decision = decide(thaw("RISK_RULE_HIT"), policy=custom)
    assert decision.outcome == "review"
    assert decision.required_approvals == (Clause("senior_fraud_reviewer", 2),)
    assert rule_ids(decision) == ["evidence-only", "default-review"]


def test_policy_version_names_the_pack_and_its_hash(custom: RequestPolicy) -> None:
    assert custom.version == f"custom+{custom.sha256[:12]}"
    assert default_policy().version.startswith("default-2026.11+")
    assert decide(thaw("ATO_SUSPECTED")).policy_version == default_policy().version


def test_decide_is_pure() -> None:
    facts = thaw("ATO_SUSPECTED", **at_risk(70))
    assert decide(facts) == decide(facts)


# --------------------------------------------------------------------------- load errors


def mutated(rule_id: str, **changes: Any) -> str:
    """The shipped pack with one rule changed; a value of None deletes the key."""
    data = yaml.safe_load(default_policy_text())
    rule = next(r for r in data["rules"] if r["id"] == rule_id)
    for key, value in changes.items():
        if value is None:
            rule.pop(key, None)
        else:
            rule[key] = value
    return yaml.safe_dump(data, sort_keys=False)


LOAD_ERRORS: list[Any] = [
    pytest.param("high-risk", {"when": "risk_scor >= 70"}, "risk_scor", id="typo-variable"),
    pytest.param("high-risk", {"when": 'risk_score >= "70"'}, "overload", id="int-vs-string"),
    pytest.param("high-risk", {"when": "risk_score + 1"}, "not a boolean", id="int-condition"),
    pytest.param("ato-thaw", {"when": "reasons"}, "not a boolean", id="list-condition"),
    pytest.param(
        "ato-thaw",
        {"evidence": [{"type": "KYC_LIVENES_PASS", "max_age_hours": 72}]},
        "unknown evidence type KYC_LIVENES_PASS",
        id="unknown-evidence-type",
    ),
    pytest.param(
        "phone-sim-check",
        {"evidence": [{"type": "SIM_SWAP_CHECK_CLEAR|VIDEO_CALL", "max_age_hours": 24}]},
        "VIDEO_CALL",
        id="unknown-evidence-alternative",
    ),
    pytest.param(
        "ato-thaw",
        {"evidence": [{"type": "KYC_LIVENESS_PASS"}]},
        "max_age_hours",
        id="evidence-without-age",
    ),
    pytest.param(
        "aml-review",
        {"approvals": [{"role": "compliance_reviewr", "count": 1}]},
        "compliance_reviewr",
        id="unknown-role",
    ),
    pytest.param(
        "risk-rule",
        {"approvals": [{"role": "requester", "count": 1}]},
        "not a reviewer role",
        id="non-reviewer-role",
    ),
    pytest.param(
        "risk-rule",
        {"approvals": [{"role": "fraud_reviewer", "count": 0}]},
        "at least 1",
        id="zero-count",
    ),
    pytest.param(
        "self-freeze",
        {
            "approvals": [
                {"role": "fraud_reviewer", "count": 1, "when": "!requester_is_selfservice"}
            ]
        },
        "requester_is_selfservice",
        id="typo-in-item-condition",
    ),
    pytest.param(
        "risk-rule",
        {"approval": [{"role": "fraud_reviewer"}]},
        "unknown keys ['approval']",
        id="unknown-key",
    ),
    pytest.param("risk-rule", {"effect": "allow"}, "effect", id="unknown-effect"),
    pytest.param("risk-rule", {"message": None}, "`message` is required", id="no-message"),
    pytest.param("risk-rule", {"approvals": {"role": "x"}}, "expected a list", id="not-a-list"),
    pytest.param(
        "credential-unbind",
        {"plan": [{"op": "lift_restriction", "target": "rst-1"}]},
        "place_restriction",
        id="plan-op-not-place",
    ),
    pytest.param(
        "credential-unbind",
        {
            "plan": [
                {
                    "op": "place_restriction",
                    "scopes": ["withdraw"],
                    "reason": "COOLDOWN",
                    "duration_hours": 24,
                }
            ]
        },
        "unknown reason COOLDOWN",
        id="plan-unknown-reason",
    ),
    pytest.param(
        "credential-unbind",
        {
            "plan": [
                {
                    "op": "place_restriction",
                    "scopes": ["withdrawals"],
                    "reason": "SECURITY_COOLDOWN",
                    "duration_hours": 24,
                }
            ]
        },
        "unknown scope withdrawals",
        id="plan-unknown-scope",
    ),
    pytest.param(
        "credential-unbind",
        {
            "plan": [
                {
                    "op": "place_restriction",
                    "scopes": ["withdraw"],
                    "reason": "SECURITY_COOLDOWN",
                }
            ]
        },
        "duration_hours",
        id="plan-without-duration",
    ),
    pytest.param("ato-thaw", {"messages": "中文"}, "map a locale", id="messages-not-a-map"),
    pytest.param("ato-thaw", {"messages": {"chinese": "x"}}, "not a locale", id="messages-locale"),
    pytest.param("ato-thaw", {"messages": {"zh_CN": " "}}, "non-empty", id="messages-empty"),
    pytest.param("ato-thaw", {"messages": {"zh_CN": 7}}, "non-empty", id="messages-number"),
]


@pytest.mark.parametrize(("rule_id", "changes", "fragment"), LOAD_ERRORS)
def test_load_error_names_the_rule(rule_id: str, changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(PolicyError) as err:
        RequestPolicy.load(mutated(rule_id, **changes))
    assert f"rule {rule_id}" in err.value.detail
    assert fragment in err.value.detail


def test_the_shipped_pack_round_trips_through_the_mutator() -> None:
    """Guards the load-error cases: with no change, the shipped pack loads."""
    assert len(RequestPolicy.load(mutated("risk-rule")).rules) == len(default_policy().rules)


def test_a_fired_rule_reads_in_the_packs_languages() -> None:
    pack = default_policy()
    hit = next(h for h in decide(thaw("ATO_SUSPECTED")).rules if h.id == "ato-thaw")
    assert pack.message_in(hit, "zh_CN") == "盗号冻结需要新近的活体检测和一名反欺诈审核人"
    assert pack.message_in(hit, "en") == hit.message  # no English override: as fired
    assert pack.message_in(hit, "fr") == hit.message
    assert all(rule.messages.get("zh_CN") for rule in pack.rules)  # the whole shipped pack
    bare = RequestPolicy.load(mutated("ato-thaw", messages=None))
    assert bare.message_in(hit, "zh_CN") == hit.message


def test_a_hit_the_rule_did_not_write_keeps_its_own_message() -> None:
    """The engine's own hits (missing evidence, the fail-closed default) are not the pack's
    rules: a rule that shares such an id must not lend them its translation."""
    pack = RequestPolicy.load(mutated("ato-thaw", id="evidence-missing"))
    decision = decide(thaw("ATO_SUSPECTED"), evidence=[], policy=pack)
    engine_hit = next(h for h in decision.rules if h.message.startswith("missing or stale"))
    assert engine_hit.id == "evidence-missing"
    assert pack.message_in(engine_hit, "zh_CN") == engine_hit.message
    rule_hit = next(h for h in decision.rules if h is not engine_hit)
    assert pack.message_in(rule_hit, "zh_CN") == "盗号冻结需要新近的活体检测和一名反欺诈审核人"


def test_duplicate_rule_ids_are_refused() -> None:
    with pytest.raises(PolicyError, match="unique: high-risk"):
        RequestPolicy.load(mutated("fresh-freeze", id="high-risk"))


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("rules: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("settings: {default_clause: {role: auditor}}\nrules: []\n", "settings.default_clause"),
        (
            "settings: {default_clause: {role: fraud_reviewer}}\n"
            "scorecard: {off_hourz: 5}\nrules: []\n",
            "off_hourz",
        ),
        (
            "settings: {default_clause: {role: fraud_reviewer}}\nrules: [not-a-mapping]\n",
            "rules[0]",
        ),
    ],
)
def test_document_level_load_errors(document: str, fragment: str) -> None:
    with pytest.raises(PolicyError, match=fragment.replace("[", r"\[")):
        RequestPolicy.load(document)


def test_a_non_integer_min_teams_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="legal-hold"):
        RequestPolicy.load(mutated("legal-hold", min_teams="two"))


def test_a_string_auto_approve_is_refused() -> None:
    with pytest.raises(PolicyError, match="risk-rule"):
        RequestPolicy.load(mutated("risk-rule", approvals=None, auto_approve="false"))
