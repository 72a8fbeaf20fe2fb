"""Judge a generated world's stream with the real policy and authorization, in process.

Each request is judged as intake judges it (authorization, then the request policy on facts
from the world), and again as an approval arrives from its reviewer (pair recurrence is scored
then). A request is *stopped* when it is refused (403), rejected, or escalated: a senior clause
added or `min_teams` raised over what the same request asks for with no risk at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from thawgate.domain.catalog import ReasonClass
from thawgate.domain.decision import Decision
from thawgate.domain.risk import RiskFacts
from thawgate.policy.authz import Authorizer, RequestResource
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services.assess import NO_RESTRICTION_AGE, Assessment, Subject, assess
from thawgate.services.env import actor_of
from thawgate.services.risk_evaluation.world_facts import WorldIndex
from thawgate.synth.world import SynthRequest, World

REVIEW_DELAY = timedelta(minutes=30)
SENIOR = "senior_fraud_reviewer"


@dataclass(frozen=True, slots=True)
class Verdict:
    request: SynthRequest
    verdict: str  # refused | rejected | escalated | passed
    stage: str  # intake | approval
    score: int  # the highest score the request reached
    factors: tuple[str, ...]
    rules: tuple[str, ...]
    risk: RiskFacts | None = None  # what the score was computed on (the learned model reads it)

    @property
    def stopped(self) -> bool:
        return self.verdict != "passed"


def judge_world(world: World, policy: RequestPolicy, authorizer: Authorizer) -> list[Verdict]:
    index = WorldIndex(world)
    return [_judge(world, index, policy, authorizer, r) for r in world.requests]


def _judge(
    world: World, index: WorldIndex, policy: RequestPolicy, authz: Authorizer, req: SynthRequest
) -> Verdict:
    if not _authorized(world, authz, req):
        return Verdict(req, "refused", "intake", 0, (), ("forbidden",))
    first = _assess(world, index, policy, req, req.at, ())
    verdict = _verdict(policy, req, first, "intake")
    if verdict.stopped or req.approver is None:
        return verdict
    second = _assess(world, index, policy, req, req.at + REVIEW_DELAY, (req.approver,))
    later = _verdict(policy, req, second, "approval")
    return (
        later
        if later.stopped
        else replace(verdict, score=max(verdict.score, later.score), risk=later.risk)
    )


def _authorized(world: World, authz: Authorizer, req: SynthRequest) -> bool:
    account = world.accounts[req.account_id]
    restrictions = [r for r in account.restrictions if r.id in req.targets]
    if any(r.reason_class is ReasonClass.NON_LIFTABLE for r in restrictions):
        return True  # the policy rejects these whoever asks (intake skips the matrix)
    resource = RequestResource(
        id=req.id,
        requester=req.requester,
        account_id=req.account_id,
        kind=req.kind,
        reasons=frozenset(r.reason for r in restrictions),
        binding_types=frozenset(b.type for b in account.bindings if b.id in req.targets),
        clause_roles=frozenset(),
    )
    return authz.authorize(
        actor_of(world.principal(req.requester)), "submit_request", resource
    ).allowed


def _assess(
    world: World,
    index: WorldIndex,
    policy: RequestPolicy,
    req: SynthRequest,
    now: datetime,
    approvers: tuple[str, ...],
) -> Assessment:
    subject = Subject(
        kind=req.kind,
        account=world.accounts[req.account_id],
        target_ids=list(req.targets),
        requester=world.principal(req.requester),
        evidence=list(req.evidence),
        evidence_as_of=req.at,
        submitted_at=req.at,
        approvers=approvers,
    )
    return assess(None, policy, subject, now, index.at(now))


def _verdict(policy: RequestPolicy, req: SynthRequest, a: Assessment, stage: str) -> Verdict:
    d = a.decision
    rules = tuple(h.id for h in d.rules)
    factors = tuple(f.name for f in d.risk.factors)
    risk = a.decision_facts.risk if a.decision_facts is not None else None
    if d.outcome == "reject":
        return Verdict(req, "rejected", stage, d.risk.score, factors, rules, risk)
    kind = "escalated" if _escalated(policy, req, a) else "passed"
    return Verdict(req, kind, stage, d.risk.score, factors, rules, risk)


def _escalated(policy: RequestPolicy, req: SynthRequest, a: Assessment) -> bool:
    """More senior reviewers, or more teams, than the same request with no risk at all."""
    facts = a.decision_facts
    if facts is None:
        return False
    calm = replace(
        facts, risk=RiskFacts(account_age_days=3650), youngest_target_age_minutes=NO_RESTRICTION_AGE
    )
    base = policy.decide(calm, list(req.evidence), as_of=req.at, not_before=None, base_plan=())
    return _seniors(a.decision) > _seniors(base) or a.decision.min_teams > base.min_teams


def _seniors(d: Decision) -> int:
    return sum(c.count for c in d.required_approvals if c.role == SENIOR)
