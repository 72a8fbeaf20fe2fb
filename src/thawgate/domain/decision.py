"""Decisions, plans and the state digest that approvals are bound to."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["approve", "review", "reject"]


@dataclass(frozen=True, slots=True)
class RuleHit:
    id: str
    effect: str
    message: str


@dataclass(frozen=True, slots=True)
class Clause:
    role: str
    count: int


@dataclass(frozen=True, slots=True)
class EvidenceRequirement:
    types: tuple[str, ...]  # alternatives: any one satisfies it
    max_age_hours: int

    @property
    def label(self) -> str:
        return "|".join(self.types)


SentenceArg = int | float | str


@dataclass(frozen=True, slots=True)
class RiskFactor:
    """A fired factor. `detail` is its English sentence; `template` and `args` are what it was
    written from (`template.format(**args)`), so a reader can show it in another language."""

    name: str
    points: int
    detail: str
    template: str = ""
    args: tuple[tuple[str, SentenceArg], ...] = ()

    def sentence(self, translate: Callable[[str], str]) -> str:
        """The sentence through `translate` (a gettext), or `detail` as stored when it predates
        templates or the translation does not fit the arguments."""
        if not self.template:
            return self.detail
        try:
            return translate(self.template).format(**dict(self.args))
        except (KeyError, IndexError, ValueError, AttributeError, TypeError):
            return self.detail


@dataclass(frozen=True, slots=True)
class RiskScore:
    score: int
    factors: tuple[RiskFactor, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanOp:
    """One operation of an execution plan, with the version it expects."""

    op: Literal["lift_restriction", "remove_binding", "place_restriction"]
    target: str | None = None
    expected_version: int | None = None
    scope: str | None = None
    reason: str | None = None
    duration_hours: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"op": self.op}
        for key in ("target", "expected_version", "scope", "reason", "duration_hours"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    policy_version: str
    rules: tuple[RuleHit, ...]
    required_approvals: tuple[Clause, ...]
    min_teams: int
    evidence_required: tuple[EvidenceRequirement, ...]
    missing_evidence: tuple[str, ...]
    risk: RiskScore
    plan: tuple[PlanOp, ...] = field(default=())

    @property
    def rejecting_rule(self) -> RuleHit | None:
        return next((r for r in self.rules if r.effect == "reject"), None)

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "policy_version": self.policy_version,
            "rules": [{"id": r.id, "effect": r.effect, "message": r.message} for r in self.rules],
            "required_approvals": [
                {"role": c.role, "count": c.count} for c in self.required_approvals
            ],
            "min_teams": self.min_teams,
            "evidence_required": [
                {"type": e.label, "max_age_hours": e.max_age_hours} for e in self.evidence_required
            ],
            "missing_evidence": list(self.missing_evidence),
            "risk": {
                "score": self.risk.score,
                "factors": [
                    {
                        "name": f.name,
                        "points": f.points,
                        "detail": f.detail,
                        "template": f.template,
                        "args": dict(f.args),
                    }
                    for f in self.risk.factors
                ],
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, object], plan: tuple[PlanOp, ...] = ()) -> Decision:
        rules = _dicts(data.get("rules"))
        clauses = _dicts(data.get("required_approvals"))
        evidence = _dicts(data.get("evidence_required"))
        risk = data.get("risk")
        risk_dict = risk if isinstance(risk, dict) else {}
        outcome = str(data["outcome"])
        if outcome not in ("approve", "review", "reject"):
            raise ValueError(f"unknown outcome {outcome!r}")
        return cls(
            outcome=outcome,  # type: ignore[arg-type]  # narrowed by the check above
            policy_version=str(data["policy_version"]),
            rules=tuple(RuleHit(str(r["id"]), str(r["effect"]), str(r["message"])) for r in rules),
            required_approvals=tuple(Clause(str(c["role"]), _int(c["count"])) for c in clauses),
            min_teams=_int(data.get("min_teams", 0)),
            evidence_required=tuple(
                EvidenceRequirement(tuple(str(e["type"]).split("|")), _int(e["max_age_hours"]))
                for e in evidence
            ),
            missing_evidence=tuple(str(m) for m in _list(data.get("missing_evidence"))),
            risk=RiskScore(
                score=_int(risk_dict.get("score", 0)),
                factors=tuple(
                    RiskFactor(
                        str(f["name"]),
                        _int(f["points"]),
                        str(f["detail"]),
                        str(f.get("template", "")),
                        _args(f.get("args")),
                    )
                    for f in _dicts(risk_dict.get("factors"))
                ),
            ),
            plan=plan,
        )


def plan_from_dicts(items: list[dict[str, object]]) -> tuple[PlanOp, ...]:
    ops: list[PlanOp] = []
    for item in items:
        version = item.get("expected_version")
        duration = item.get("duration_hours")
        ops.append(
            PlanOp(
                op=item["op"],  # type: ignore[arg-type]  # written by PlanOp.as_dict
                target=_opt_str(item.get("target")),
                expected_version=None if version is None else _int(version),
                scope=_opt_str(item.get("scope")),
                reason=_opt_str(item.get("reason")),
                duration_hours=None if duration is None else _int(duration),
            )
        )
    return tuple(ops)


def plan_hash(plan: tuple[PlanOp, ...]) -> str:
    return _sha256_json([op.as_dict() for op in plan])


@dataclass(frozen=True, slots=True)
class TargetState:
    id: str
    version: int
    status: str


def state_digest(targets: list[TargetState], decision: Decision) -> str:
    """POLICY.md floor item 6: what an approval is bound to.

    Target ids, versions and statuses; the outcome, clauses, evidence requirements and
    `min_teams`; and the plan. Risk is left out: time alone must not make an approval stale.
    """
    body = {
        "targets": [
            {"id": t.id, "version": t.version, "status": t.status}
            for t in sorted(targets, key=lambda t: t.id)
        ],
        "outcome": decision.outcome,
        "clauses": sorted(
            ({"role": c.role, "count": c.count} for c in decision.required_approvals),
            key=lambda c: str(c["role"]),
        ),
        "evidence": sorted(f"{e.label}:{e.max_age_hours}" for e in decision.evidence_required),
        "min_teams": decision.min_teams,
        "plan": plan_hash(decision.plan),
    }
    return _sha256_json(body)


def _sha256_json(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _args(value: object) -> tuple[tuple[str, SentenceArg], ...]:
    if not isinstance(value, dict):
        return ()
    return tuple((str(k), v) for k, v in value.items() if isinstance(v, int | float | str))


def _dicts(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
