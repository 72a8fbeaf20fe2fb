"""Authorization (Cedar): the shipped policy pack, load-time checks, fail-closed decisions."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest
import yaml

from thawgate.policy import authz
from thawgate.policy.authz import (
    ACTIONS,
    AccountResource,
    Actor,
    Authorizer,
    AuthzDecision,
    AuthzLoadError,
    RequestResource,
    RestrictionResource,
    SystemResource,
    check_policy_case,
    run_policy_tests,
)

POLICY_DIR = pathlib.Path(__file__).resolve().parents[2] / "policies" / "default"
TESTS_FILE = POLICY_DIR / "authz_tests.yaml"
CASES: list[dict[str, object]] = yaml.safe_load(TESTS_FILE.read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def authorizer() -> Authorizer:
    return Authorizer.from_directory(POLICY_DIR)


def make_actor(**overrides: object) -> Actor:
    fields: dict[str, object] = {
        "id": "cs-1",
        "team": "customer_support",
        "roles": frozenset({"requester"}),
    }
    fields.update(overrides)
    return Actor(**fields)  # type: ignore[arg-type]  # overrides are test data


def make_request(**overrides: object) -> RequestResource:
    fields: dict[str, object] = {
        "id": "req-1",
        "requester": "cs-1",
        "account_id": "acct-1",
        "kind": "thaw",
        "reasons": frozenset({"ATO_SUSPECTED"}),
        "binding_types": frozenset(),
        "clause_roles": frozenset(),
    }
    fields.update(overrides)
    return RequestResource(**fields)  # type: ignore[arg-type]  # overrides are test data


def pack_with(tmp_path: pathlib.Path, extra_policy: str) -> pathlib.Path:
    """A copy of the shipped pack with one more policy appended."""
    pack = tmp_path / "pack"
    shutil.copytree(POLICY_DIR, pack)
    with (pack / authz.POLICY_FILE).open("a", encoding="utf-8") as policies:
        policies.write("\n" + extra_policy + "\n")
    return pack


# --- the shipped table ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", CASES, ids=[str(case.get("name", n)) for n, case in enumerate(CASES, start=1)]
)
def test_policy_table_case(authorizer: Authorizer, case: dict[str, object]) -> None:
    assert check_policy_case(authorizer, "case", case) is None


def test_policy_table_passes_as_a_whole(authorizer: Authorizer) -> None:
    assert run_policy_tests(authorizer, TESTS_FILE) == []


def test_policy_table_covers_every_action() -> None:
    assert {case["action"] for case in CASES} == ACTIONS
    assert len(CASES) >= 40


def test_weakened_policy_fails_the_table(tmp_path: pathlib.Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(POLICY_DIR, pack)
    policies = pack / authz.POLICY_FILE
    text = policies.read_text(encoding="utf-8")
    weakened = text.replace('!["compliance"].contains(principal.team)', 'principal.team == "x"')
    policies.write_text(weakened, encoding="utf-8")

    failures = run_policy_tests(Authorizer.from_directory(pack), TESTS_FILE)

    assert len(failures) == 2
    assert "(AML_REVIEW by fraud_risk): expected deny, got allowed by policy" in failures[0]
    assert "(every reason must pass (ATO ok but AML not)): expected deny" in failures[1]


def test_malformed_case_is_reported_not_raised(
    authorizer: Authorizer, tmp_path: pathlib.Path
) -> None:
    table = tmp_path / "t.yaml"
    table.write_text(
        "cases:\n"
        "  - {name: typo, principal: {id: a, team: legal, roles: [requester]},\n"
        "     action: submit_request, expect: allow,\n"
        "     resource: {type: request, requester: a, reason: [COURT_ORDER]}}\n",
        encoding="utf-8",
    )

    assert run_policy_tests(authorizer, table) == [
        "t.yaml case 1 (typo): malformed case: resource has unknown keys ['reason']"
    ]


def test_missing_table_is_reported(authorizer: Authorizer, tmp_path: pathlib.Path) -> None:
    [failure] = run_policy_tests(authorizer, tmp_path / "absent.yaml")
    assert "absent.yaml: cannot read" in failure


# --- loading --------------------------------------------------------------------------------------


def test_policy_without_id_is_refused(tmp_path: pathlib.Path) -> None:
    pack = pack_with(tmp_path, "permit (principal, action, resource);")

    with pytest.raises(AuthzLoadError, match=r"authz\.cedar: policy #\d+ \(a permit\) has no @id"):
        Authorizer.from_directory(pack)


def test_duplicate_id_is_refused(tmp_path: pathlib.Path) -> None:
    pack = pack_with(tmp_path, '@id("read-audit") forbid (principal, action, resource);')

    with pytest.raises(AuthzLoadError, match=r'@id\("read-audit"\) is used more than once'):
        Authorizer.from_directory(pack)


def test_attribute_not_in_schema_is_refused(tmp_path: pathlib.Path) -> None:
    pack = pack_with(
        tmp_path,
        '@id("by-colour") forbid (principal, action == Thawgate::Action::"submit_request", '
        'resource) when { resource.colour == "red" };',
    )

    with pytest.raises(AuthzLoadError) as caught:
        Authorizer.from_directory(pack)

    message = str(caught.value)
    assert "authz.cedar: does not validate against schema.cedarschema" in message
    assert 'policy "by-colour"' in message
    assert "attribute `colour` on entity type `Thawgate::Request` not found" in message


def test_policy_syntax_error_names_the_file(tmp_path: pathlib.Path) -> None:
    pack = pack_with(tmp_path, '@id("broken") permit (principal, action, resource) when {')

    with pytest.raises(AuthzLoadError, match=r"authz\.cedar: invalid policy syntax"):
        Authorizer.from_directory(pack)


def test_schema_error_names_the_file(tmp_path: pathlib.Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(POLICY_DIR, pack)
    (pack / authz.SCHEMA_FILE).write_text("namespace Thawgate { entity ", encoding="utf-8")

    with pytest.raises(AuthzLoadError, match=r"schema\.cedarschema: invalid schema"):
        Authorizer.from_directory(pack)


def test_missing_file_names_the_path(tmp_path: pathlib.Path) -> None:
    with pytest.raises(AuthzLoadError, match=r"schema\.cedarschema: cannot read"):
        Authorizer.from_directory(tmp_path)


# --- fail closed ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity_index", "attribute", "value"),
    [
        (0, "active", None),  # principal without `active`: the inactive forbid would be skipped
        (0, "active", "false"),  # a string, not a Bool
        (0, "roles", "requester"),  # a String, not a Set<String>
        (1, "reasons", None),  # request without `reasons`: every matrix forbid would be skipped
        (1, "requester", "cs-1"),  # a String, not an entity reference
    ],
)
def test_invalid_entity_denies(
    authorizer: Authorizer, entity_index: int, attribute: str, value: object
) -> None:
    request, entities = authz._prepare(make_actor(), "submit_request", make_request())
    assert authorizer._decide(request, json.dumps(entities)).allowed  # sanity: valid is allowed
    attrs = entities[entity_index]["attrs"]
    assert isinstance(attrs, dict)
    if value is None:
        del attrs[attribute]
    else:
        attrs[attribute] = value

    decision = authorizer._decide(request, json.dumps(entities))

    assert not decision.allowed
    assert decision.errors
    assert decision.explain().startswith("denied: evaluation error: ")
    assert "<entities>" in decision.explain()  # the entity JSON is not pasted into the message


def test_bad_actor_fields_deny_instead_of_raising(authorizer: Authorizer) -> None:
    actor = make_actor(team=None)

    decision = authorizer.authorize(actor, "submit_request", make_request())

    assert not decision.allowed
    assert "team" in decision.explain()


def test_unknown_action_denies(authorizer: Authorizer) -> None:
    decision = authorizer.authorize(make_actor(), "lift_everything", make_request())

    assert decision == AuthzDecision(False, (), ("unknown action 'lift_everything'",))


def test_action_on_wrong_resource_type_denies(authorizer: Authorizer) -> None:
    auditor = make_actor(roles=frozenset({"auditor"}))

    decision = authorizer.authorize(auditor, "read_audit", make_request())

    assert not decision.allowed
    assert "is not valid for" in decision.explain()


# --- decisions name their policies ----------------------------------------------------------------


def test_denial_names_the_forbid(authorizer: Authorizer) -> None:
    decision = authorizer.authorize(
        make_actor(), "submit_request", make_request(reasons=frozenset({"AML_REVIEW"}))
    )

    assert decision == AuthzDecision(False, ("thaw-matrix-AML_REVIEW",), ())
    assert decision.explain() == 'denied by policy "thaw-matrix-AML_REVIEW"'


def test_denial_names_every_forbid(authorizer: Authorizer) -> None:
    actor = make_actor(active=False)
    request = make_request(reasons=frozenset({"AML_REVIEW"}))

    decision = authorizer.authorize(actor, "submit_request", request)

    assert set(decision.policy_ids) == {"inactive-principal", "thaw-matrix-AML_REVIEW"}
    assert decision.explain().startswith("denied by policies ")


def test_allow_names_the_permit(authorizer: Authorizer) -> None:
    decision = authorizer.authorize(make_actor(), "submit_request", make_request())

    assert decision == AuthzDecision(True, ("submit-requester",), ())
    assert decision.explain() == 'allowed by policy "submit-requester"'


def test_default_deny_names_nothing(authorizer: Authorizer) -> None:
    decision = authorizer.authorize(make_actor(), "retry_job", SystemResource("jobs"))

    assert decision == AuthzDecision(False, (), ())
    assert decision.explain() == "no policy permits this"


def test_remembered_decisions_follow_every_attribute(authorizer: Authorizer) -> None:
    """Decisions are remembered per (action, entities): asking again is answered from memory,
    and a principal who loses a role, leaves, or is deactivated is decided afresh."""
    fresh = Authorizer.from_directory(POLICY_DIR)
    reviewer = make_actor(id="rv-9", team="fraud_risk", roles=frozenset({"fraud_reviewer"}))
    audit = SystemResource("audit")

    first = fresh.authorize(reviewer, "read_audit", audit)
    again = fresh.authorize(reviewer, "read_audit", audit)
    stripped = fresh.authorize(make_actor(id="rv-9", team="fraud_risk"), "read_audit", audit)
    inactive = fresh.authorize(
        make_actor(id="rv-9", team="fraud_risk", roles=reviewer.roles, active=False),
        "read_audit",
        audit,
    )

    assert first.allowed
    assert again == first
    assert not stripped.allowed
    assert not inactive.allowed
    assert "inactive-principal" in inactive.policy_ids
    assert fresh._decide_json.cache_info().hits == 1  # only the repeated question
    assert fresh.authorize(reviewer, "read_audit", audit) == first
    assert fresh._decide_json.cache_info().hits == 2


# --- batches --------------------------------------------------------------------------------------


def test_batch_matches_one_by_one(authorizer: Authorizer) -> None:
    reviewer = make_actor(id="rv-1", team="fraud_risk", roles=frozenset({"fraud_reviewer"}))
    aml = make_request(id="req-2", reasons=frozenset({"AML_REVIEW"}))
    items: list[tuple[Actor, str, authz.Resource]] = [
        (make_actor(), "submit_request", make_request()),
        (make_actor(), "submit_request", aml),
        (reviewer, "approve_request", make_request(clause_roles=frozenset({"fraud_reviewer"}))),
        (reviewer, "read_account", AccountResource("acct-1", frozenset({"cs-1"}))),
        (make_actor(), "read_account", AccountResource("acct-2", frozenset({"cs-1"}))),
        (reviewer, "amend_restriction", RestrictionResource("rst-1", "acct-1", "AML_REVIEW")),
        (reviewer, "read_audit", SystemResource("audit")),
    ]

    assert authorizer.authorize_many(items) == [authorizer.authorize(*item) for item in items]


def test_batch_with_conflicting_entities_decides_each_alone(authorizer: Authorizer) -> None:
    active, inactive = make_actor(), make_actor(active=False)
    items: list[tuple[Actor, str, authz.Resource]] = [
        (active, "submit_request", make_request()),
        (inactive, "submit_request", make_request()),
    ]

    decisions = authorizer.authorize_many(items)

    assert [d.allowed for d in decisions] == [True, False]
    assert decisions[1].policy_ids == ("inactive-principal",)


def test_batch_with_one_bad_item_denies_only_that_item(authorizer: Authorizer) -> None:
    items: list[tuple[Actor, str, authz.Resource]] = [
        (make_actor(), "submit_request", make_request()),
        (make_actor(id="x", team=None), "submit_request", make_request(id="r2", requester="x")),
        (make_actor(), "read_audit", make_request()),
    ]

    decisions = authorizer.authorize_many(items)

    assert decisions[0].allowed
    assert not decisions[1].allowed
    assert decisions[1].errors
    assert not decisions[2].allowed
    assert decisions[2].errors


def test_empty_batch(authorizer: Authorizer) -> None:
    assert authorizer.authorize_many([]) == []
