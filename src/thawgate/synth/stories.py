"""What benign and attack stories share: picking accounts and staff, timing, evidence."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from thawgate.domain.catalog import SECURITY_CHANGE_EVENTS, EvidenceType
from thawgate.domain.model import Account, Binding, Principal, Restriction
from thawgate.domain.request import Evidence
from thawgate.synth.world import SynthRequest, World

MINUTE = timedelta(minutes=1)
THAW_EVIDENCE: dict[str, tuple[str, ...]] = {
    "ATO_SUSPECTED": (EvidenceType.KYC_LIVENESS_PASS,),
    "KYC_INCOMPLETE": (EvidenceType.ID_DOCUMENT_MATCH,),
    "P2P_DISPUTE": (EvidenceType.DISPUTE_RESOLVED,),
    "USER_SELF_FREEZE": (EvidenceType.USER_IDENTITY_VERIFIED,),
    "AML_REVIEW": (EvidenceType.AML_CASE_CLOSED,),
    "LAW_ENFORCEMENT": (EvidenceType.LE_RELEASE_ORDER,),
    "COURT_ORDER": (EvidenceType.COURT_RELEASE_ORDER,),
}
# Every piece an unbind's rules may ask for: a request is judged on risk, not on paperwork.
UNBIND_EVIDENCE = (
    EvidenceType.KYC_LIVENESS_PASS,
    EvidenceType.VIDEO_VERIFICATION,
    EvidenceType.SIM_SWAP_CHECK_CLEAR,
)
THAW_TEAMS: dict[str, tuple[str, ...]] = {
    "ATO_SUSPECTED": ("customer_support", "vip_desk", "risk_ops", "fraud_risk", "security"),
    "RISK_RULE_HIT": ("risk_ops", "fraud_risk"),
    "P2P_DISPUTE": ("risk_ops", "fraud_risk"),
    "KYC_INCOMPLETE": ("customer_support", "vip_desk", "compliance"),
    "USER_SELF_FREEZE": ("customer_support", "vip_desk"),
    "AML_REVIEW": ("compliance",),
    "LAW_ENFORCEMENT": ("legal",),
    "COURT_ORDER": ("legal",),
}
UNBIND_TEAMS = ("customer_support", "vip_desk", "security", "fraud_risk")


def day_start(world: World) -> datetime:
    return world.now.replace(hour=0, minute=0, second=0, microsecond=0)


def pick_account(
    world: World, rng: random.Random, ok: Callable[[Account], bool], tries: int = 400
) -> Account | None:
    ids = list(world.accounts)
    for _ in range(tries):
        account = world.accounts[rng.choice(ids)]
        if ok(account):
            return account
    return None


def requesters(world: World, teams: tuple[str, ...]) -> list[Principal]:
    return [p for p in world.principals if p.team in teams and "requester" in p.roles]


def on_shift_time(world: World, who: str, rng: random.Random) -> datetime | None:
    """A moment today, before `now`, inside `who`'s eight-hour shift."""
    start = day_start(world) + timedelta(hours=world.shift_start[who])
    end = min(start + timedelta(hours=8), world.now - 5 * MINUTE)
    if end <= start:
        return None
    return start + (end - start) * rng.random()


def evidence_for(
    world: World, account: Account, types: tuple[str, ...], at: datetime, rng: random.Random
) -> tuple[Evidence, ...]:
    """Fresh evidence observed after the latest security change and restriction, before `at`."""
    moments = [r.placed_at for r in account.restrictions if r.placed_at <= at]
    moments += [
        e.at
        for e in world.events.get(account.id, [])
        if e.type in SECURITY_CHANGE_EVENTS and e.at <= at
    ]
    floor = max(moments, default=at - timedelta(days=1))
    observed = max(at - rng.uniform(5, 90) * MINUTE, min(floor + MINUTE, at))
    return tuple(
        Evidence(str(t), f"{str(t).lower()}-{account.id}-{rng.getrandbits(24):x}", observed)
        for t in dict.fromkeys(types)
    )


def free_restrictions(world: World, account: Account) -> list[Restriction]:
    return [r for r in account.restrictions if r.is_active and r.id not in world.used_targets]


def free_bindings(world: World, account: Account, types: tuple[str, ...]) -> list[Binding]:
    return [
        b
        for b in account.bindings
        if b.type in types and b.is_active and b.id not in world.used_targets
    ]


def file_request(world: World, req: SynthRequest, *, stream: bool = True) -> SynthRequest:
    world.used_targets.update(req.targets)
    (world.requests if stream else world.history).append(req)
    return req


def next_id(world: World, prefix: str) -> str:
    return f"{prefix}-{len(world.requests) + len(world.history) + 1:06d}"
