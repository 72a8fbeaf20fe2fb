"""The labelled attacks from inside and from rings: bursts, collusion pairs, linked accounts."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from thawgate.domain.model import Account, AccountEvent, Restriction
from thawgate.synth import stories as st
from thawgate.synth.accounts import random_restriction
from thawgate.synth.attacks import file_attack, victim
from thawgate.synth.world import Profile, SynthRequest, World

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
CREDENTIALS = ("TOTP", "EMAIL", "SMS_PHONE", "PASSKEY")


def insider_burst(world: World, rng: random.Random, size: int) -> list[SynthRequest]:
    """One agent strips 2FA from dormant, long-funded accounts, one after another."""
    insider = rng.choice(st.requesters(world, ("customer_support", "vip_desk"))).id
    start = _off_hours_start(world, insider, rng) if rng.random() < 0.65 else None
    start = start or st.on_shift_time(world, insider, rng)
    if start is None:
        return []
    dormant = [
        a
        for a in world.accounts.values()
        if world.profiles[a.id].dormant and st.free_bindings(world, a, CREDENTIALS)
    ]
    rng.shuffle(dormant)
    out = []
    for n, account in enumerate(dormant[:size]):
        at = min(start + n * rng.uniform(3, 12) * MINUTE, world.now - MINUTE)
        target = rng.choice(st.free_bindings(world, account, CREDENTIALS)).id
        out.append(
            file_attack(
                world,
                rng,
                "insider_burst",
                account,
                "unbind",
                (target,),
                requester=insider,
                at=at,
                types=st.UNBIND_EVIDENCE,
            )
        )
    return out


def _off_hours_start(world: World, who: str, rng: random.Random) -> datetime | None:
    shift = {(world.shift_start[who] + h) % 24 for h in range(-1, 9)}
    hours = [h for h in range(world.now.hour - 2) if h not in shift]
    if not hours:
        return None
    return st.day_start(world) + timedelta(hours=rng.choice(hours), minutes=rng.uniform(0, 30))


def collusion_pair(world: World, rng: random.Random, size: int) -> list[SynthRequest]:
    """A requester and the approver who has waved most of their requests through this month."""
    taken = {r.requester for r in world.requests if r.label == "collusion_pair"}
    track = Counter(h.requester for h in world.history if h.approver)  # a pair needs a record
    free = [
        p
        for p in st.requesters(world, ("customer_support", "vip_desk"))
        if p.id not in taken and track[p.id] >= 10
    ]
    if not free:
        return []
    requester = rng.choice(free).id
    partner = rng.choice([p.id for p in world.principals if p.roles == {"fraud_reviewer"}])
    world.history[:] = [
        replace(h, approver=partner)
        if h.requester == requester and h.approver and rng.random() < 0.6
        else h
        for h in world.history
    ]
    out = []
    for _ in range(size):
        account = victim(world, rng, CREDENTIALS)
        at = st.on_shift_time(world, requester, rng)
        if account is None or at is None:
            continue
        target = rng.choice(st.free_bindings(world, account, CREDENTIALS)).id
        out.append(
            file_attack(
                world,
                rng,
                "collusion_pair",
                account,
                "unbind",
                (target,),
                requester=requester,
                at=at,
                types=st.UNBIND_EVIDENCE,
                approver=partner,
            )
        )
    return out


def linked_ring(world: World, rng: random.Random, size: int) -> list[SynthRequest]:
    """Fresh mule accounts on one device and IP as a frozen account; each asks to be thawed."""
    n = len([a for a in world.accounts if a.startswith("9")])
    device, ip = (
        f"ring-{n}-{rng.getrandbits(24):x}",
        f"100.64.{rng.randrange(256)}.{rng.randrange(256)}",
    )
    hub = _ring_account(world, rng, f"9{n + 1:05d}", device, ip)
    hub.restrictions.append(random_restriction(world, hub, rng, reason="ATO_SUSPECTED"))
    out = []
    for k in range(size):
        member = _ring_account(world, rng, f"9{n + 2 + k:05d}", device, ip)
        frozen = _member_freeze(world, member, rng)
        if frozen is None:
            continue
        requester = rng.choice(st.requesters(world, ("risk_ops",))).id
        at = st.on_shift_time(world, requester, rng)
        if at is None or at <= frozen.placed_at:
            continue
        out.append(
            file_attack(
                world,
                rng,
                "linked_ring",
                member,
                "thaw",
                (frozen.id,),
                requester=requester,
                at=at,
                types=st.THAW_EVIDENCE.get(frozen.reason, ()),
            )
        )
    return out


def _ring_account(world: World, rng: random.Random, aid: str, device: str, ip: str) -> Account:
    age = rng.uniform(5, 60)
    account = Account(aid, world.now - timedelta(days=age))
    world.accounts[aid] = account
    world.profiles[aid] = Profile(device, "GB", ip)
    logins = [
        AccountEvent("login", world.now - timedelta(days=d), ip, "GB", device)
        for d in range(int(age), 0, -2)
    ]
    world.add_events(aid, *logins)
    return account


def _member_freeze(world: World, member: Account, rng: random.Random) -> Restriction | None:
    if rng.random() < 0.2:
        return None  # not every mule is caught: it links the others without a request
    reason = rng.choice(("RISK_RULE_HIT", "P2P_DISPUTE", "RISK_RULE_HIT"))
    frozen = random_restriction(world, member, rng, reason=reason, age=rng.uniform(20, 120) * HOUR)
    member.restrictions.append(frozen)
    return frozen
