"""The request policy: a YAML decision table with CEL conditions, type-checked at load.

`RequestPolicy.load(text)` validates everything once and fails with the rule id and the problem;
`decide(facts, ...)` is pure and fast: it reads frozen facts and returns a `Decision`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import yaml
from cel_expr_python import cel

from thawgate.domain import evidence as evidence_rules
from thawgate.domain.catalog import (
    CLAUSE_FITS,
    EvidenceType,
    Reason,
    Scope,
)
from thawgate.domain.decision import (
    Clause,
    Decision,
    EvidenceRequirement,
    Outcome,
    PlanOp,
    RuleHit,
)
from thawgate.domain.errors import PolicyError
from thawgate.domain.request import Evidence
from thawgate.domain.risk import FACTORS, RiskFacts, score
from thawgate.policy import monitoring
from thawgate.policy.messages import parse_messages

T = TypeVar("T")

FACT_TYPES: dict[str, Any] = {
    "kind": cel.Type.STRING,
    "reasons": cel.Type.List(cel.Type.STRING),
    "reason_classes": cel.Type.List(cel.Type.STRING),
    "binding_types": cel.Type.List(cel.Type.STRING),
    "risk_score": cel.Type.INT,
    "requester_roles": cel.Type.List(cel.Type.STRING),
    "requester_team": cel.Type.STRING,
    "requester_is_self_service": cel.Type.BOOL,
    "youngest_target_age_minutes": cel.Type.INT,
    "target_count": cel.Type.INT,
}
_ENV = cel.NewEnv(variables=FACT_TYPES)
EVIDENCE_MISSING = "evidence-missing"  # the rule id of a rejection for missing or stale evidence
DEFAULT_REVIEW = RuleHit("default-review", "require", "no rule decided: fail closed")
_RULE_KEYS = {
    "id", "when", "effect", "message", "messages", "evidence", "approvals", "min_teams", "plan"
}  # fmt: skip
_RULE_KEYS |= {"auto_approve"}


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    """What a decision is made on. Persisted with the request, so it can be replayed."""

    kind: str
    reasons: tuple[str, ...]
    reason_classes: tuple[str, ...]
    binding_types: tuple[str, ...]
    requester_roles: tuple[str, ...]
    requester_team: str
    youngest_target_age_minutes: int
    target_count: int
    risk: RiskFacts

    def cel_data(self, risk_score: int) -> dict[str, object]:
        return {
            "kind": self.kind,
            "reasons": list(self.reasons),
            "reason_classes": list(self.reason_classes),
            "binding_types": list(self.binding_types),
            "risk_score": risk_score,
            "requester_roles": list(self.requester_roles),
            "requester_team": self.requester_team,
            "requester_is_self_service": "self_service" in self.requester_roles,
            "youngest_target_age_minutes": self.youngest_target_age_minutes,
            "target_count": self.target_count,
        }


class _Condition:
    __slots__ = ("expr", "source")

    def __init__(self, source: str, where: str) -> None:
        self.source = source
        try:
            self.expr = _ENV.compile(source)
        except RuntimeError as exc:
            raise PolicyError(f"{where}: condition {source!r} does not compile: {exc}") from None
        if self.expr.return_type().name().lower() != "bool":
            raise PolicyError(f"{where}: condition {source!r} is not a boolean")

    def holds(self, activation: Any) -> bool:
        return bool(self.expr.eval(activation).value())


@dataclass(frozen=True, slots=True)
class _Item(Generic[T]):
    """An evidence requirement, clause or plan ops, optionally conditional."""

    value: T
    when: _Condition | None


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    when: _Condition
    effect: str
    message: str
    messages: Mapping[str, str]  # the message in other languages, by locale (e.g. zh_CN)
    evidence: tuple[_Item[EvidenceRequirement], ...]
    approvals: tuple[_Item[Clause], ...]
    plan: tuple[_Item[tuple[PlanOp, ...]], ...]
    min_teams: int
    auto_approve: bool


class RequestPolicy:
    """One loaded, validated version of the request policy pack."""

    def __init__(self, document: str, data: Mapping[str, Any]) -> None:
        self.document = document
        self.sha256 = hashlib.sha256(document.encode()).hexdigest()
        self.name = str(data.get("name", "unnamed"))
        self.version = f"{self.name}+{self.sha256[:12]}"
        settings = data.get("settings") or {}
        if not isinstance(settings, dict):
            raise PolicyError("settings: expected a mapping")
        self.pending_expiry_hours = _count(
            settings.get("pending_expiry_hours", 72), "settings.pending_expiry_hours", minimum=1
        )
        self.default_clause = _clause(settings.get("default_clause"), "settings.default_clause")
        # Break-glass uses per senior fraud reviewer in a rolling 24 h (floor item 10).
        self.break_glass_per_day = _count(
            settings.get("break_glass_per_day", 2), "settings.break_glass_per_day", minimum=0
        )
        self.weights = _weights(data.get("scorecard") or {})
        # Post-thaw monitoring rules ride in the same document: one version, validated together.
        self.monitoring = monitoring.parse(data.get("monitoring"))
        self.rules = tuple(_rule(raw, i) for i, raw in enumerate(_list(data.get("rules"), "rules")))
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise PolicyError(f"rule ids must be unique: {', '.join(dupes)}")
        self._translated = {r.id: (r.message, r.messages) for r in self.rules}
        # Every rule's condition in one CEL list: one evaluation instead of one per rule. Each
        # condition was type-checked alone above, so errors still name their rule.
        self._all_conditions = (
            _ENV.compile("[" + ", ".join(f"({r.when.source})" for r in self.rules) + "]")
            if self.rules
            else None
        )

    def message_in(self, hit: RuleHit, locale: str) -> str:
        """A fired rule's message in `locale` where the pack gives one, else as fired. Only a
        hit that rule wrote is translated: the engine's own hits (`evidence-missing`,
        `default-review`) keep their message even if a rule shares their id."""
        english, translated = self._translated.get(hit.id, ("", {}))
        return translated.get(locale, hit.message) if hit.message == english else hit.message

    @classmethod
    def load(cls, document: str) -> RequestPolicy:
        try:
            data = yaml.safe_load(document)
        except yaml.YAMLError as exc:
            raise PolicyError(f"policy document is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise PolicyError("policy document must be a mapping with `rules`")
        return cls(document, data)

    def decide(
        self,
        facts: DecisionFacts,
        evidence: list[Evidence],
        *,
        as_of: datetime,
        not_before: datetime | None,
        base_plan: tuple[PlanOp, ...],
    ) -> Decision:
        risk = score(facts.risk, self.weights)
        activation = _ENV.Activation(facts.cel_data(risk.score))
        hits: list[RuleHit] = []
        matched: list[_Rule] = []
        fired = self._fired(activation)
        for rule, fires in zip(self.rules, fired, strict=True):
            if fires:
                hits.append(RuleHit(rule.id, rule.effect, rule.message))
                if rule.effect == "reject":
                    return self._decision("reject", hits, (), 0, (), (), risk, base_plan)
                matched.append(rule)
        required = evidence_rules.merge(
            i.value for r in matched for i in _live(r.evidence, activation)
        )
        clauses = _union_clauses(i.value for r in matched for i in _live(r.approvals, activation))
        plan = base_plan + tuple(
            op for r in matched for i in _live(r.plan, activation) for op in i.value
        )
        min_teams = max((r.min_teams for r in matched), default=0)
        missing = evidence_rules.missing(required, evidence, as_of=as_of, not_before=not_before)
        if missing:
            hits.append(
                RuleHit(
                    EVIDENCE_MISSING, "reject", "missing or stale evidence: " + ", ".join(missing)
                )
            )
            return self._decision("reject", hits, (), 0, required, tuple(missing), risk, plan)
        outcome: Outcome = "review"
        if not clauses:
            if any(r.auto_approve for r in matched):
                outcome = "approve"
            else:
                clauses = (self.default_clause,)
                hits.append(DEFAULT_REVIEW)
        return self._decision(outcome, hits, clauses, min_teams, required, (), risk, plan)

    def _fired(self, activation: Any) -> list[bool]:
        if self._all_conditions is None:
            return []
        return [bool(v) for v in self._all_conditions.eval(activation).plain_value()]

    def _decision(
        self,
        outcome: Outcome,
        hits: list[RuleHit],
        clauses: tuple[Clause, ...],
        min_teams: int,
        required: tuple[EvidenceRequirement, ...],
        missing: tuple[str, ...],
        risk: Any,
        plan: tuple[PlanOp, ...],
    ) -> Decision:
        return Decision(
            outcome=outcome,
            policy_version=self.version,
            rules=tuple(hits),
            required_approvals=clauses,
            min_teams=min_teams,
            evidence_required=required,
            missing_evidence=missing,
            risk=risk,
            plan=plan,
        )


def _live(items: tuple[_Item[T], ...], activation: Any) -> list[_Item[T]]:
    return [i for i in items if i.when is None or i.when.holds(activation)]


def _union_clauses(clauses: Any) -> tuple[Clause, ...]:
    best: dict[str, int] = {}
    for c in clauses:
        best[c.role] = max(best.get(c.role, 0), c.count)
    return tuple(Clause(role, count) for role, count in sorted(best.items()))


def _rule(raw: object, index: int) -> _Rule:
    if not isinstance(raw, dict):
        raise PolicyError(f"rules[{index}]: a rule must be a mapping")
    rid = str(raw.get("id") or f"rules[{index}]")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise PolicyError(f"rule {rid}: unknown keys {sorted(unknown)}")
    for key in ("id", "when", "effect", "message"):
        if not raw.get(key):
            raise PolicyError(f"rule {rid}: `{key}` is required")
    effect = str(raw["effect"])
    if effect not in ("reject", "require"):
        raise PolicyError(f"rule {rid}: effect must be reject or require, not {effect!r}")
    where = f"rule {rid}"
    return _Rule(
        id=rid,
        when=_Condition(str(raw["when"]), where),
        effect=effect,
        message=str(raw["message"]).strip(),
        messages=parse_messages(raw.get("messages"), where),
        evidence=tuple(_evidence_item(e, where) for e in _list(raw.get("evidence"), where)),
        approvals=tuple(
            _Item(_clause(a, where), _item_when(a, where))
            for a in _list(raw.get("approvals"), where)
        ),
        plan=tuple(_plan_item(p, where) for p in _list(raw.get("plan"), where)),
        min_teams=_count(raw.get("min_teams", 0), f"{where}: min_teams", minimum=0),
        auto_approve=_flag(raw.get("auto_approve", False), f"{where}: auto_approve"),
    )


def _item_when(raw: Mapping[str, Any], where: str) -> _Condition | None:
    return _Condition(str(raw["when"]), where) if raw.get("when") else None


def _evidence_item(raw: object, where: str) -> _Item[EvidenceRequirement]:
    if not isinstance(raw, dict) or "type" not in raw or "max_age_hours" not in raw:
        raise PolicyError(f"{where}: evidence items need `type` and `max_age_hours`")
    types = tuple(str(raw["type"]).split("|"))
    known = set(EvidenceType.__members__.values())
    bad = [t for t in types if t not in known]
    if bad:
        raise PolicyError(f"{where}: unknown evidence type {bad[0]}")
    age = _count(raw["max_age_hours"], f"{where}: max_age_hours", minimum=1)
    return _Item(EvidenceRequirement(types, age), _item_when(raw, where))


def _clause(raw: object, where: str) -> Clause:
    if not isinstance(raw, dict) or "role" not in raw:
        raise PolicyError(f"{where}: an approval clause needs `role` and `count`")
    role = str(raw["role"])
    if role not in CLAUSE_FITS:
        raise PolicyError(f"{where}: {role} is not a reviewer role that can fill a clause")
    count = _count(raw.get("count", 1), f"{where}: clause count", minimum=1)
    return Clause(role, count)


def _plan_item(raw: object, where: str) -> _Item[tuple[PlanOp, ...]]:
    if not isinstance(raw, dict) or raw.get("op") != "place_restriction":
        raise PolicyError(f"{where}: plan items may only `place_restriction`")
    reason = str(raw.get("reason"))
    if reason not in Reason.__members__.values():
        raise PolicyError(f"{where}: unknown reason {reason}")
    scopes = [str(s) for s in _list(raw.get("scopes"), where)]
    for scope in scopes:
        if scope not in Scope.__members__.values():
            raise PolicyError(f"{where}: unknown scope {scope}")
    hours = _count(raw.get("duration_hours", 0), f"{where}: duration_hours", minimum=1)
    ops = tuple(
        PlanOp(op="place_restriction", scope=s, reason=reason, duration_hours=hours) for s in scopes
    )
    return _Item(ops, _item_when(raw, where))


def _weights(raw: object) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise PolicyError("scorecard must map factor names to points")
    unknown = set(raw) - set(FACTORS)
    if unknown:
        raise PolicyError(f"scorecard: unknown factors {sorted(unknown)}")
    return {str(k): _count(v, f"scorecard: {k}", minimum=0) for k, v in raw.items()}


def _count(value: object, where: str, *, minimum: int) -> int:
    """A whole number from the pack, or a PolicyError naming where it is."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{where} must be a whole number, not {value!r}")
    if value < minimum:
        raise PolicyError(f"{where} must be at least {minimum}, not {value}")
    return value


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"{where} must be true or false, not {value!r}")
    return value


def _list(raw: object, where: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PolicyError(f"{where}: expected a list")
    return raw
