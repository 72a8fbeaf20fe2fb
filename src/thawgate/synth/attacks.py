"""The labelled attacks on accounts: takeovers that talk support into an unbind or a thaw."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from thawgate.domain.model import Account, AccountEvent
from thawgate.synth import stories as st
from thawgate.synth.accounts import COUNTRIES, random_restriction
from thawgate.synth.benign import reviewers
from thawgate.synth.world import SynthRequest, World

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def victim(world: World, rng: random.Random, types: tuple[str, ...] = ()) -> Account | None:
    """An ordinary, established account that nobody has touched today."""

    def fits(a: Account) -> bool:
        p = world.profiles[a.id]
        old = world.now - a.created_at > timedelta(days=60)
        return (
            old
            and not p.dormant
            and not a.restrictions
            and (not types or bool(st.free_bindings(world, a, types)))
        )

    return st.pick_account(world, rng, fits)


def attacker_login(
    world: World, account: Account, at: datetime, rng: random.Random, *, abroad: bool
) -> None:
    p = world.profiles[account.id]
    country = rng.choice(COUNTRIES[10:]) if abroad else p.country
    ip = f"203.0.113.{rng.randrange(1, 255)}"
    device = f"x-{rng.getrandbits(32):08x}"
    world.add_events(account.id, AccountEvent("login", at, ip, country, device))


def file_attack(
    world: World,
    rng: random.Random,
    label: str,
    account: Account,
    kind: str,
    targets: tuple[str, ...],
    *,
    requester: str,
    at: datetime,
    types: tuple[str, ...],
    approver: str | None = None,
) -> SynthRequest:
    return st.file_request(
        world,
        SynthRequest(
            id=st.next_id(world, "req"),
            label=label,
            kind=kind,
            account_id=account.id,
            targets=targets,
            requester=requester,
            evidence=st.evidence_for(world, account, types, at, rng),
            at=at,
            justification="customer called, passed the checks",
            approver=approver or rng.choice(reviewers(world)),
        ),
    )


def _agent_and_time(
    world: World, rng: random.Random, after: datetime
) -> tuple[str, datetime] | None:
    """A support agent on shift some time after `after` (the attacker calls them)."""
    for _ in range(40):
        agent = rng.choice(st.requesters(world, ("customer_support", "vip_desk"))).id
        at = st.on_shift_time(world, agent, rng)
        if at is not None and at > after:
            return agent, at
    return None


def social_engineered_unbind(world: World, rng: random.Random) -> SynthRequest | None:
    """A phished password, a login from the attacker's device, then a call to remove 2FA."""
    account = victim(world, rng, ("TOTP", "EMAIL", "PASSKEY"))
    if account is None:
        return None
    login_at = world.now - rng.uniform(1, 16) * HOUR
    if rng.random() < 0.9:
        world.add_events(
            account.id, AccountEvent("password_change", login_at - rng.uniform(0.2, 72) * HOUR)
        )
    attacker_login(world, account, login_at, rng, abroad=rng.random() < 0.75)
    if rng.random() < 0.5:
        world.add_events(
            account.id,
            AccountEvent("withdrawal_address_added", login_at + 10 * MINUTE, address="bc1qevil"),
        )
    slot = _agent_and_time(world, rng, login_at + 15 * MINUTE)
    if slot is None:
        return None
    target = rng.choice(st.free_bindings(world, account, ("TOTP", "EMAIL", "PASSKEY"))).id
    return file_attack(
        world,
        rng,
        "social_engineered_unbind",
        account,
        "unbind",
        (target,),
        requester=slot[0],
        at=slot[1],
        types=st.UNBIND_EVIDENCE,
    )


def sim_swap_phone_unbind(world: World, rng: random.Random) -> SynthRequest | None:
    """The carrier is tricked into a SIM swap; the attacker resets, logs in, drops the phone."""
    account = victim(world, rng, ("SMS_PHONE",))
    if account is None:
        return None
    swap_at = world.now - rng.uniform(3, 40) * HOUR
    world.add_events(account.id, AccountEvent("sim_swap", swap_at))
    if rng.random() < 0.7:
        world.add_events(
            account.id, AccountEvent("password_change", swap_at + rng.uniform(5, 60) * MINUTE)
        )
    if rng.random() < 0.9:
        attacker_login(world, account, swap_at + HOUR, rng, abroad=rng.random() < 0.25)
    slot = _agent_and_time(world, rng, swap_at + 90 * MINUTE)
    if slot is None:
        return None
    phone = st.free_bindings(world, account, ("SMS_PHONE",))[0].id
    extra = st.free_bindings(world, account, ("TOTP",))
    targets = (phone, extra[0].id) if extra and rng.random() < 0.4 else (phone,)
    return file_attack(
        world,
        rng,
        "sim_swap_phone_unbind",
        account,
        "unbind",
        targets,
        requester=slot[0],
        at=slot[1],
        types=st.UNBIND_EVIDENCE,
    )


def fresh_ato_thaw(world: World, rng: random.Random) -> SynthRequest | None:
    """Security freezes a takeover; minutes later someone asks support to lift it."""
    account = victim(world, rng)
    if account is None:
        return None
    slot = _agent_and_time(world, rng, world.now - 20 * HOUR)
    if slot is None:
        return None
    agent, at = slot
    attacker_login(world, account, at - rng.uniform(1, 5) * HOUR, rng, abroad=rng.random() < 0.5)
    freeze = random_restriction(
        world,
        account,
        rng,
        reason="ATO_SUSPECTED",
        age=world.now - at + rng.uniform(2, 45) * MINUTE,
    )
    account.restrictions.append(freeze)
    return file_attack(
        world,
        rng,
        "fresh_ato_thaw",
        account,
        "thaw",
        (freeze.id,),
        requester=agent,
        at=at,
        types=st.THAW_EVIDENCE["ATO_SUSPECTED"],
    )


def legal_hold_by_support(world: World, rng: random.Random) -> SynthRequest | None:
    """Support is talked into asking for a law-enforcement or court hold to be lifted."""
    account = victim(world, rng)
    if account is None:
        return None
    reason = rng.choice(("LAW_ENFORCEMENT", "COURT_ORDER"))
    hold = random_restriction(
        world, account, rng, reason=reason, age=rng.uniform(2, 30) * 24 * HOUR
    )
    account.restrictions.append(hold)
    slot = _agent_and_time(world, rng, hold.placed_at)
    if slot is None:
        return None
    return file_attack(
        world,
        rng,
        "legal_hold_by_support",
        account,
        "thaw",
        (hold.id,),
        requester=slot[0],
        at=slot[1],
        types=st.THAW_EVIDENCE[reason],
    )
