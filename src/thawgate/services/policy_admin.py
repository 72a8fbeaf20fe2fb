"""Policy versions: upload (validated fully), backtest, activate with a second policy admin, and
re-activate a retired version the same way (API.md "Policy versions", floor item 9).

Running processes follow the active version: the process that activates switches at once; every
other one within `policy_refresh_seconds`, through `ActivePolicyWatch`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from thawgate.adapters.db.policy_versions_repo import RecordedRequest, StoredVersion
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.decision import plan_from_dicts
from thawgate.domain.errors import Conflict, NotFound, SeparationOfDuties
from thawgate.domain.model import Principal
from thawgate.domain.request import Evidence
from thawgate.domain.risk import RiskFacts
from thawgate.policy.authz import SystemResource
from thawgate.policy.request_policy import DecisionFacts, RequestPolicy
from thawgate.services.env import Env, authorize, refuse

POLICY = SystemResource("policy")


@dataclass(frozen=True, slots=True)
class Changed:
    request_id: str
    old_outcome: str
    new_outcome: str


@dataclass(frozen=True, slots=True)
class Backtest:
    version: str
    compared: int
    changed: list[Changed]


def upload(uow: UnitOfWork, env: Env, *, actor: Principal, document: str) -> StoredVersion:
    """A new draft, validated fully (YAML shape, CEL type-checks): a PolicyError names the rule.
    Uploading a retired version's document again proposes its re-activation."""
    with uow:
        authorize(
            uow, env, principal=actor, action="draft_policy", resource=POLICY, subject="policy"
        )
        pack = RequestPolicy.load(document)
        now = env.clock()
        stored = uow.policy_versions.get(pack.version, for_update=True)
        if stored is None:
            uow.policy_versions.add_draft(
                version=pack.version, sha256=pack.sha256, document=document, by=actor.id, at=now
            )
            action = "policy:drafted"
        elif stored.status == "retired":
            uow.policy_versions.redraft(pack.version, by=actor.id, at=now)
            action = "policy:reactivation-proposed"
        elif stored.status == "active":
            raise Conflict(f"policy version {pack.version} is already active")
        else:
            return stored  # the same draft again: idempotent
        uow.audit.append(
            at=now,
            actor=actor.id,
            action=action,
            subject=f"policy:{pack.version}",
            data={"version": pack.version, "sha256": pack.sha256},
        )
        result = uow.policy_versions.get(pack.version)
        uow.commit()
    assert result is not None  # noqa: S101  # written in this transaction
    return result


def list_versions(uow: UnitOfWork) -> list[StoredVersion]:
    """Every stored version, oldest first (the active one is readable by any role already)."""
    with uow:
        return uow.policy_versions.all()


def backtest(uow: UnitOfWork, env: Env, *, actor: Principal, version: str) -> Backtest:
    """Replay every recorded request's persisted facts under `version`; list changed outcomes."""
    with uow:
        authorize(
            uow, env, principal=actor, action="backtest_policy", resource=POLICY, subject="policy"
        )
        stored = uow.policy_versions.get(version)
        if stored is None:
            raise NotFound(f"no policy version {version}")
        pack = env.policies.get(version) or RequestPolicy.load(stored.document)
        recorded = uow.policy_versions.recorded_requests()
        changed = []
        for r in recorded:
            new = replay(pack, r)
            if new is not None and new != r.outcome:
                changed.append(Changed(r.id, r.outcome, new))
        uow.audit.append(
            at=env.clock(),
            actor=actor.id,
            action="policy:backtested",
            subject=f"policy:{version}",
            data={"compared": len(recorded), "changed": len(changed)},
        )
        uow.commit()
        return Backtest(version=version, compared=len(recorded), changed=changed)


def replay(pack: RequestPolicy, r: RecordedRequest) -> str | None:
    """The outcome `pack` gives on a request's recorded facts; None if nothing was recorded."""
    raw = r.facts.get("decision_facts")
    if not isinstance(raw, dict):
        return None
    facts = DecisionFacts(
        kind=str(raw["kind"]),
        reasons=tuple(raw["reasons"]),
        reason_classes=tuple(raw["reason_classes"]),
        binding_types=tuple(raw["binding_types"]),
        requester_roles=tuple(raw["requester_roles"]),
        requester_team=str(raw["requester_team"]),
        youngest_target_age_minutes=int(raw["youngest_target_age_minutes"]),
        target_count=int(raw["target_count"]),
        risk=RiskFacts(**raw["risk"]),
    )
    evidence = [
        Evidence(e["type"], e["reference"], datetime.fromisoformat(e["observed_at"]))
        for e in r.evidence
    ]
    as_of = datetime.fromisoformat(str(r.facts["evidence_as_of"]))
    not_before = r.facts.get("not_before")
    base = tuple(op for op in plan_from_dicts(r.plan) if op.op in BASE_OPS)
    decision = pack.decide(
        facts,
        evidence,
        as_of=as_of,
        not_before=None if not_before is None else datetime.fromisoformat(str(not_before)),
        base_plan=base,
    )
    return decision.outcome


BASE_OPS = frozenset({"lift_restriction", "remove_binding"})


def approve(
    uow: UnitOfWork, env: Env, *, actor: Principal, version: str, comment: str
) -> StoredVersion:
    """The second key: a policy admin other than its author and its proposer activates it."""
    with uow:
        authorize(
            uow, env, principal=actor, action="approve_policy", resource=POLICY, subject="policy"
        )
        stored = uow.policy_versions.get(version, for_update=True)
        if stored is None:
            raise NotFound(f"no policy version {version}")
        if stored.status != "draft":
            raise Conflict(f"policy version {version} is {stored.status}, not a draft")
        if actor.id in {stored.created_by, stored.proposed_by}:
            detail = "you wrote or proposed this version; a second policy admin must activate it"
            refuse(
                uow,
                env,
                principal=actor,
                subject=f"policy:{version}",
                slug="separation-of-duties",
                data={"floor_item": 9, "detail": detail},
            )
            raise SeparationOfDuties(detail, floor_item=9)
        pack = env.policies.get(version) or RequestPolicy.load(stored.document)
        now = env.clock()
        previous = uow.policy_versions.active()
        if not uow.policy_versions.activate(version, previous=previous, by=actor.id, at=now):
            raise Conflict("the active policy version changed concurrently; retry")
        uow.audit.append(
            at=now,
            actor=actor.id,
            action="policy:activated",
            subject=f"policy:{version}",
            data={"version": version, "previous": previous, "comment": comment},
        )
        result = uow.policy_versions.get(version)
        uow.commit()
    env.policies[version] = pack
    env.active_version = version
    assert result is not None  # noqa: S101  # written in this transaction
    return result


class ActivePolicyWatch:
    """Keeps an Env on the database's active version, looking at most every `ttl` seconds."""

    def __init__(self, engine: sa.Engine, ttl: float) -> None:
        self.engine = engine
        self.ttl = ttl
        self._checked = time.monotonic()

    def __call__(self, env: Env) -> None:
        if time.monotonic() - self._checked < self.ttl:
            return
        self._checked = time.monotonic()
        with UnitOfWork(self.engine, readonly=True) as uow:
            active = uow.policy_versions.active()
            if active is None or active == env.active_version:
                return
            stored = uow.policy_versions.get(active)
        if stored is not None:
            env.policies.setdefault(active, RequestPolicy.load(stored.document))
            env.active_version = active
