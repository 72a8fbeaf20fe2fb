"""Authorization: may this principal take this action on this resource? (Cedar, via cedarpy).

The schema and policies are parsed and validated once, at load. Every decision passes the schema,
so Cedar validates the entities, and any diagnostic error is a Deny: Cedar skips a policy whose
evaluation errors, so an entity missing an attribute could otherwise skip a forbid and Allow.
Decisions name the deciding policies by their ``@id`` annotations, never by cedarpy's positional
``policy0``-style ids.
"""

from __future__ import annotations

import functools
import json
import pathlib
from dataclasses import dataclass
from typing import Final, TypeAlias

import cedarpy
import yaml

SCHEMA_FILE: Final = "schema.cedarschema"
POLICY_FILE: Final = "authz.cedar"
DECISION_CACHE_SIZE: Final = 4096  # remembered decisions per policy set

ACTIONS: Final = frozenset({
    # on a Request
    "submit_request", "withdraw_request", "answer_request", "approve_request", "reject_request",
    "question_request", "revert_request", "read_request", "execute_plan", "claim_request",
    "break_glass",
    # on an Account, a Restriction
    "read_account", "place_restriction", "ingest_events", "amend_restriction",
    # on the System
    "list_requests", "read_audit", "retry_job", "propose_grant", "approve_grant", "revoke_grant",
    "suspend_principal", "draft_policy", "backtest_policy", "approve_policy",
    "read_grants", "read_alerts", "review_grants", "read_bad_thaws",
    "review_break_glass", "read_break_glass", "sync_principals",
})  # fmt: skip

_NS: Final = "Thawgate::"
_Json: TypeAlias = dict[str, object]


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated principal."""

    id: str
    team: str
    roles: frozenset[str]
    active: bool = True


@dataclass(frozen=True, slots=True)
class RequestResource:
    id: str
    requester: str
    account_id: str
    kind: str  # "thaw" | "unbind"
    reasons: frozenset[str]  # reasons of the targets (empty for unbinds)
    binding_types: frozenset[str]
    clause_roles: frozenset[str]  # roles named by the request's open approval clauses


@dataclass(frozen=True, slots=True)
class AccountResource:
    id: str
    requesters: frozenset[str]  # ids of principals who have a request on the account


@dataclass(frozen=True, slots=True)
class RestrictionResource:
    id: str
    account_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class SystemResource:
    name: str  # "audit", "grants", "policy", "jobs", "requests"


Resource: TypeAlias = RequestResource | AccountResource | RestrictionResource | SystemResource


@dataclass(frozen=True, slots=True)
class AuthzDecision:
    allowed: bool
    policy_ids: tuple[str, ...]  # @id of the deciding policies; empty when default-deny
    errors: tuple[str, ...]  # diagnostic errors; allowed is then always False

    def explain(self) -> str:
        if self.errors:
            return "denied: evaluation error: " + "; ".join(self.errors)
        verdict = "allowed" if self.allowed else "denied"
        if not self.policy_ids:
            return f"{verdict}: no policy decided" if self.allowed else "no policy permits this"
        noun = "policy" if len(self.policy_ids) == 1 else "policies"
        names = ", ".join(f'"{policy_id}"' for policy_id in self.policy_ids)
        return f"{verdict} by {noun} {names}"


class AuthzLoadError(Exception):
    """The schema or policies cannot be loaded; the message names the file and the problem."""


def _error_decision(message: str) -> AuthzDecision:
    return AuthzDecision(allowed=False, policy_ids=(), errors=(message,))


# --- entities ------------------------------------------------------------------------------------


def _uid(kind: str, entity_id: str) -> dict[str, str]:
    return {"type": _NS + kind, "id": entity_id}


def _principal_ref(principal_id: str) -> _Json:
    return {"__entity": _uid("Principal", principal_id)}


def _principal_entity(actor: Actor) -> _Json:
    attrs: _Json = {"team": actor.team, "roles": sorted(actor.roles), "active": actor.active}
    return {"uid": _uid("Principal", actor.id), "attrs": attrs, "parents": []}


def _resource_uid_attrs(resource: Resource) -> tuple[dict[str, str], _Json]:
    match resource:
        case RequestResource():
            return _uid("Request", resource.id), {
                "requester": _principal_ref(resource.requester),
                "account_id": resource.account_id,
                "kind": resource.kind,
                "reasons": sorted(resource.reasons),
                "binding_types": sorted(resource.binding_types),
                "clause_roles": sorted(resource.clause_roles),
            }
        case AccountResource():
            refs = [_principal_ref(p) for p in sorted(resource.requesters)]
            return _uid("Account", resource.id), {"requesters": refs}
        case RestrictionResource():
            attrs: _Json = {"account_id": resource.account_id, "reason": resource.reason}
            return _uid("Restriction", resource.id), attrs
        case SystemResource():
            return _uid("System", resource.name), {"name": resource.name}
    raise TypeError(f"unsupported resource type {type(resource).__name__}")


def _prepare(actor: Actor, action: str, resource: Resource) -> tuple[_Json, list[_Json]]:
    """The Cedar request and the entities it needs. Raises TypeError/ValueError if unusable."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    resource_uid, attrs = _resource_uid_attrs(resource)
    request: _Json = {
        "principal": _uid("Principal", actor.id),
        "action": _uid("Action", action),
        "resource": resource_uid,
    }
    entities = [_principal_entity(actor), {"uid": resource_uid, "attrs": attrs, "parents": []}]
    return request, entities


def _merge_entities(prepared: list[tuple[_Json, list[_Json]]]) -> list[_Json] | None:
    """One entity set for a batch, or None if two items describe one entity differently."""
    merged: dict[str, _Json] = {}
    for _, entities in prepared:
        for entity in entities:
            key = json.dumps(entity["uid"], sort_keys=True)
            if merged.setdefault(key, entity) != entity:
                return None
    return list(merged.values())


# --- loading -------------------------------------------------------------------------------------


def _read(path: pathlib.Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthzLoadError(f"{path}: cannot read: {exc}") from exc


def _policy_annotations(policy_text: str) -> dict[str, str]:
    """Map cedarpy's positional ids (policy0, …) to @id, refusing any policy without one."""
    est = json.loads(cedarpy.policies_to_json_str(policy_text))
    if est.get("templates"):
        raise AuthzLoadError(f"{POLICY_FILE}: templates are not supported")
    static: dict[str, dict[str, object]] = est.get("staticPolicies", {})
    if not static:
        raise AuthzLoadError(f"{POLICY_FILE}: contains no policies")
    ids: dict[str, str] = {}
    for position in sorted(static, key=lambda key: int(key.removeprefix("policy"))):
        policy = static[position]
        annotations = policy.get("annotations")
        annotation = annotations.get("id") if isinstance(annotations, dict) else None
        ordinal = int(position.removeprefix("policy")) + 1
        if not isinstance(annotation, str) or not annotation.strip():
            raise AuthzLoadError(
                f'{POLICY_FILE}: policy #{ordinal} (a {policy.get("effect")}) has no @id("…") '
                "annotation; every policy needs a unique one"
            )
        if annotation in ids.values():
            raise AuthzLoadError(f'{POLICY_FILE}: @id("{annotation}") is used more than once')
        ids[position] = annotation
    return ids


def _validate(policy_text: str, schema: cedarpy.Schema, ids: dict[str, str]) -> None:
    result = cedarpy.validate_policies(policy_text, schema)
    if result.validation_passed:
        return
    problems = []
    for error in result.errors:
        name = ids.get(error.policy_id, error.policy_id)
        text = error.error.replace(f"`{error.policy_id}`", f'"{name}"')
        problems.append(f'policy "{name}": {text}')
    raise AuthzLoadError(
        f"{POLICY_FILE}: does not validate against {SCHEMA_FILE}: " + "; ".join(problems)
    )


def _may_apply(scope: object, action: str) -> bool:
    """Whether a policy's action scope can match `action`. Conservative: when in doubt, yes."""
    if not isinstance(scope, dict) or scope.get("op") == "All":
        return True
    named = [scope["entity"]] if "entity" in scope else scope.get("entities", [])
    ids = [e.get("id") for e in named if isinstance(e, dict)]
    if scope.get("op") == "==":
        return ids == [action]
    # `in`: a listed action, or a group (like "change") that this action may belong to
    return action in ids or any(i not in ACTIONS for i in ids)


def _split_by_action(policy_text: str) -> dict[str, cedarpy.PolicySet]:
    """One policy set per action, holding only the policies whose scope can match it.

    Cedar would skip the others anyway; not handing them over saves most of its time. The
    policies keep their positional ids, so decisions still name them by @id.
    """
    est = json.loads(cedarpy.policies_to_json_str(policy_text))
    static: dict[str, dict[str, object]] = est.get("staticPolicies", {})
    sets = {}
    for action in ACTIONS:
        subset = {k: v for k, v in static.items() if _may_apply(v.get("action"), action)}
        body = {"staticPolicies": subset, "templates": {}, "templateLinks": []}
        sets[action] = cedarpy.PolicySet.from_json_str(json.dumps(body))
    return sets


def _roles_tested(node: object, out: set[str]) -> None:
    """Collect the roles a policy condition tests positively on the principal:
    `principal.roles.contains("r")` and `principal.roles.containsAny([...])`."""
    if isinstance(node, list):
        for item in node:
            _roles_tested(item, out)
        return
    if not isinstance(node, dict):
        return
    for op in ("contains", "containsAny"):
        call = node.get(op)
        if isinstance(call, dict) and _is_principal_roles(call.get("left")):
            right = call.get("right")
            values = right.get("Set", [right]) if isinstance(right, dict) else []
            out.update(
                v["Value"]
                for v in values
                if isinstance(v, dict) and isinstance(v.get("Value"), str)
            )
    if "!" in node:
        return  # a negated test names roles the principal must not hold
    for value in node.values():
        _roles_tested(value, out)


def _is_principal_roles(node: object) -> bool:
    if not isinstance(node, dict) or not isinstance(node.get("."), dict):
        return False
    attr = node["."]
    return bool(attr.get("attr") == "roles" and attr.get("left") == {"Var": "principal"})


def _roles_by_policy(policy_text: str, ids: dict[str, str]) -> dict[str, frozenset[str]]:
    """For each permit's @id, the roles its conditions test: which roles an allow relied on."""
    est = json.loads(cedarpy.policies_to_json_str(policy_text))
    out: dict[str, frozenset[str]] = {}
    for position, policy in est.get("staticPolicies", {}).items():
        if policy.get("effect") != "permit":
            continue
        found: set[str] = set()
        _roles_tested(policy.get("conditions", []), found)
        out[ids.get(position, position)] = frozenset(found)
    return out


class Authorizer:
    """Parsed, validated Cedar policies and schema; answers authorization questions."""

    roles_by_policy: dict[str, frozenset[str]]

    def __init__(
        self,
        policies: cedarpy.PolicySet,
        schema: cedarpy.Schema,
        policy_ids: dict[str, str],
        by_action: dict[str, cedarpy.PolicySet] | None = None,
    ) -> None:
        self._policies = policies
        self._schema = schema
        self._policy_ids = policy_ids
        self._by_action = by_action or {}
        self.roles_by_policy = {}
        # A decision is a pure function of the policies (fixed for this instance), the action and
        # the entities, which carry every attribute a policy can read; Cedar re-reads the policy
        # set on every call, so repeated questions are answered from memory.
        self._decide_json = functools.lru_cache(maxsize=DECISION_CACHE_SIZE)(self._decide_text)

    @classmethod
    def from_directory(cls, path: pathlib.Path) -> Authorizer:
        schema_text = _read(path / SCHEMA_FILE)
        policy_text = _read(path / POLICY_FILE)
        try:
            return cls.from_text(schema_text, policy_text)
        except AuthzLoadError as exc:
            raise AuthzLoadError(f"{path}/{exc}") from exc

    @classmethod
    def from_text(cls, schema_text: str, policy_text: str) -> Authorizer:
        try:
            schema = cedarpy.Schema.from_str(schema_text)
        except ValueError as exc:
            raise AuthzLoadError(f"{SCHEMA_FILE}: invalid schema: {exc}") from exc
        try:
            policies = cedarpy.PolicySet.from_str(policy_text)
        except ValueError as exc:
            raise AuthzLoadError(f"{POLICY_FILE}: invalid policy syntax: {exc}") from exc
        ids = _policy_annotations(policy_text)
        _validate(policy_text, schema, ids)
        authorizer = cls(policies, schema, ids, _split_by_action(policy_text))
        authorizer.roles_by_policy = _roles_by_policy(policy_text, ids)
        return authorizer

    def roles_relied_on(self, decision: AuthzDecision, held: frozenset[str]) -> frozenset[str]:
        """The held roles that the permits behind an allow tested (for grants' last use)."""
        if not decision.allowed:
            return frozenset()
        named: set[str] = set()
        for policy_id in decision.policy_ids:
            named |= self.roles_by_policy.get(policy_id, frozenset())
        return held & named

    def authorize(self, actor: Actor, action: str, resource: Resource) -> AuthzDecision:
        """Decide one request. Never raises for bad input: it is a Deny naming the error."""
        try:
            request, entities = _prepare(actor, action, resource)
            entities_json = json.dumps(entities)
        except (TypeError, ValueError) as exc:
            return _error_decision(str(exc))
        return self._decide_json(json.dumps(request), entities_json, action)

    def authorize_many(self, items: list[tuple[Actor, str, Resource]]) -> list[AuthzDecision]:
        """Decide many requests in one Cedar batch; same answers as authorize() one by one."""
        try:
            prepared = [_prepare(*item) for item in items]
        except (TypeError, ValueError):
            return [self.authorize(*item) for item in items]
        merged = _merge_entities(prepared)
        if not prepared or merged is None:
            return [self.authorize(*item) for item in items]
        entities_json = json.dumps(merged)
        requests = [request for request, _ in prepared]
        try:
            results = cedarpy.is_authorized_batch(
                requests, self._policies, entities_json, schema=self._schema
            )
        except ValueError:
            return [self.authorize(*item) for item in items]
        decisions = [self._to_decision(result, entities_json) for result in results]
        if any(decision.errors for decision in decisions):
            # One bad entity fails the whole shared set: find out which items it really concerns.
            return [self.authorize(*item) for item in items]
        return decisions

    def _decide_text(self, request_json: str, entities_json: str, action: str) -> AuthzDecision:
        return self._decide(json.loads(request_json), entities_json, action)

    def _decide(self, request: _Json, entities_json: str, action: str = "") -> AuthzDecision:
        """Evaluate a prepared Cedar request against raw entities JSON (schema-validated)."""
        policies = self._by_action.get(action, self._policies)
        try:
            result = cedarpy.is_authorized(request, policies, entities_json, schema=self._schema)
        except ValueError as exc:
            return _error_decision(str(exc).replace(entities_json, "<entities>"))
        return self._to_decision(result, entities_json)

    def _to_decision(self, result: cedarpy.AuthzResult, entities_json: str) -> AuthzDecision:
        errors = tuple(e.replace(entities_json, "<entities>") for e in result.diagnostics.errors)
        allowed = result.decision is cedarpy.Decision.Allow
        if errors and allowed:
            return AuthzDecision(allowed=False, policy_ids=(), errors=errors)
        ids = tuple(self._policy_ids.get(r, r) for r in result.diagnostics.reasons)
        return AuthzDecision(allowed=allowed and not errors, policy_ids=ids, errors=errors)


# --- policy test tables (authz_tests.yaml) -------------------------------------------------------


class _CaseError(Exception):
    pass


_RESOURCE_KEYS: Final = {
    "request": {"type", "id", "requester", "account_id", "kind", "reasons", "binding_types",
                "clause_roles"},
    "account": {"type", "id", "requesters"},
    "restriction": {"type", "id", "account_id", "reason"},
    "system": {"type", "name"},
}  # fmt: skip
_CASE_KEYS: Final = {"name", "principal", "action", "resource", "expect", "policy"}
_PRINCIPAL_KEYS: Final = {"id", "team", "roles", "active"}


def _mapping(value: object, what: str, allowed: set[str]) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _CaseError(f"{what} must be a mapping")
    unknown = set(value) - allowed
    if unknown:
        raise _CaseError(f"{what} has unknown keys {sorted(map(str, unknown))}")
    return value


def _text(data: dict[str, object], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise _CaseError(f"{key!r} must be a string")
    return value


def _texts(data: dict[str, object], key: str) -> frozenset[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _CaseError(f"{key!r} must be a list of strings")
    return frozenset(value)


def _case_actor(raw: object) -> Actor:
    data = _mapping(raw, "principal", _PRINCIPAL_KEYS)
    active = data.get("active", True)
    if not isinstance(active, bool):
        raise _CaseError("'active' must be true or false")
    return Actor(_text(data, "id"), _text(data, "team"), _texts(data, "roles"), active)


def _case_resource(raw: object) -> Resource:
    kind = raw.get("type") if isinstance(raw, dict) else None
    if not isinstance(kind, str) or kind not in _RESOURCE_KEYS:
        raise _CaseError(f"resource type must be one of {sorted(_RESOURCE_KEYS)}")
    data = _mapping(raw, "resource", _RESOURCE_KEYS[kind])
    if kind == "request":
        return RequestResource(
            _text(data, "id", "req-1"), _text(data, "requester"),
            _text(data, "account_id", "acct-1"), _text(data, "kind", "thaw"),
            _texts(data, "reasons"), _texts(data, "binding_types"), _texts(data, "clause_roles"),
        )  # fmt: skip
    if kind == "account":
        return AccountResource(_text(data, "id", "acct-1"), _texts(data, "requesters"))
    if kind == "restriction":
        account = _text(data, "account_id", "acct-1")
        return RestrictionResource(_text(data, "id", "rst-1"), account, _text(data, "reason"))
    return SystemResource(_text(data, "name"))


def check_policy_case(authorizer: Authorizer, label: str, raw: object) -> str | None:
    """Run one policy test case (parsed YAML); return a failure message, or None if it passes."""
    try:
        return _run_case(authorizer, label, raw)
    except _CaseError as exc:
        return f"{label}: malformed case: {exc}"


def _run_case(authorizer: Authorizer, label: str, raw: object) -> str | None:
    data = _mapping(raw, "case", _CASE_KEYS)
    expect = _text(data, "expect")
    if expect not in {"allow", "deny"}:
        raise _CaseError("'expect' must be allow or deny")
    policy = data.get("policy")
    if policy is not None and not isinstance(policy, str):
        raise _CaseError("'policy' must be a string")
    actor, resource = _case_actor(data.get("principal")), _case_resource(data.get("resource"))
    decision = authorizer.authorize(actor, _text(data, "action"), resource)
    if decision.allowed != (expect == "allow"):
        return f"{label}: expected {expect}, got {decision.explain()}"
    if policy is not None and policy not in decision.policy_ids:
        return f'{label}: expected policy "{policy}" to decide, got {decision.explain()}'
    return None


def run_policy_tests(authorizer: Authorizer, path: pathlib.Path) -> list[str]:
    """Run a policy test table (YAML with a ``cases`` list); return one message per failure."""
    try:
        document = yaml.safe_load(_read(path))
    except AuthzLoadError as exc:
        return [str(exc)]
    except yaml.YAMLError as exc:
        return [f"{path}: invalid YAML: {exc}"]
    cases = document.get("cases") if isinstance(document, dict) else None
    if not isinstance(cases, list) or not cases:
        return [f"{path}: expected a non-empty 'cases' list"]
    failures = []
    for number, raw in enumerate(cases, start=1):
        name = raw.get("name") if isinstance(raw, dict) else None
        label = f"{path.name} case {number}" + (f" ({name})" if name else "")
        failure = check_policy_case(authorizer, label, raw)
        if failure is not None:
            failures.append(failure)
    return failures
