"""Need to know in request JSON and 403s, pure (domain/need_to_know.py)."""

from __future__ import annotations

from factories import make_principal

from thawgate.domain.need_to_know import redact_request, restricted_owners, shown_policy_ids

CS = make_principal(id="cs-1", team="customer_support", roles=frozenset({"requester"}))
FR = make_principal(id="fr-1", team="fraud_risk", roles=frozenset({"fraud_reviewer"}))
AUDITOR = make_principal(id="au-1", team="security", roles=frozenset({"auditor"}))

BODY = {
    "status_reason": "sanctions-not-via-thaw: SANCTIONS_HIT is lifted only by sanctions screening",
    "decision": {
        "rules": [{"id": "sanctions-not-via-thaw", "effect": "reject", "message": "SANCTIONS_HIT"}],
        "evidence_required": [{"type": "COURT_RELEASE_ORDER|LE_RELEASE_ORDER", "max_age_hours": 1}],
        "missing_evidence": ["ID_DOCUMENT_MATCH", "AML_CASE_CLOSED"],
    },
    "plan": [{"op": "place_restriction", "reason": "SANCTIONS_HIT"}, {"op": "lift_restriction"}],
}


def test_owners_only_for_sensitive_reasons_and_uncleared_viewers() -> None:
    assert restricted_owners(CS, ["ATO_SUSPECTED", "SANCTIONS_HIT", "COURT_ORDER"]) == [
        "compliance",
        "legal",
    ]
    assert restricted_owners(CS, ["ATO_SUSPECTED"]) == []
    assert restricted_owners(FR, ["SANCTIONS_HIT"]) == []
    assert restricted_owners(AUDITOR, ["SANCTIONS_HIT"]) == []  # audit is a role, any team


def test_the_redacted_request_says_restricted_and_the_owning_team() -> None:
    shown = redact_request(CS, BODY, ["compliance"])
    assert "SANCTIONS" not in str(shown)
    assert "RELEASE_ORDER" not in str(shown)
    assert shown["status_reason"] == "RESTRICTED (owning team: compliance)"
    assert shown["decision"]["missing_evidence"] == ["ID_DOCUMENT_MATCH", "RESTRICTED"]
    assert shown["plan"][1] == {"op": "lift_restriction"}
    assert redact_request(FR, BODY, ["compliance"]) is BODY
    assert redact_request(CS, BODY, []) is BODY


def test_policy_ids_that_name_a_sensitive_reason_are_hidden() -> None:
    ids = ("thaw-matrix-SANCTIONS_HIT", "thaw-matrix-ATO_SUSPECTED", "thaw-matrix-COURT_ORDER")
    assert shown_policy_ids(CS, ids) == ("restricted", "thaw-matrix-ATO_SUSPECTED")
    assert shown_policy_ids(CS, ("break-glass-never-protected-reasons",)) == ("restricted",)
    assert shown_policy_ids(FR, ids) == ids
