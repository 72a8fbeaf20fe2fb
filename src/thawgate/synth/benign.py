"""The honest traffic: 30 days of settled history, and today's stream of benign requests."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from thawgate.domain.catalog import ReasonClass
from thawgate.domain.model import Account, AccountEvent
from thawgate.synth import stories as st
from thawgate.synth.world import BENIGN, SynthRequest, World

HOUR = timedelta(hours=1)
CREDENTIALS = ("TOTP", "SMS_PHONE", "EMAIL", "PASSKEY")
PROTECTIVE = ("DEVICE", "WITHDRAWAL_ADDRESS", "API_KEY")


def reviewers(world: World) -> list[str]:
    return [p.id for p in world.principals if "fraud_reviewer" in p.roles]


def build_history(world: World, rng: random.Random) -> None:
    """The 30 days before today, at the rhythm of today's benign stream: each requester files
    about as much as today, in the same hours, and anyone on the fraud team reviews."""
    ids, pool = list(world.accounts), reviewers(world)
    today = [r for r in world.requests if r.label == BENIGN]
    for day in range(1, 31):
        for r in today:
            if rng.random() < 0.15:
                continue  # a quieter day
            status = rng.choices(("executed", "rejected", "withdrawn"), (85, 8, 7))[0]
            jitter = timedelta(minutes=rng.uniform(-45, 45))
            world.history.append(
                SynthRequest(
                    id=st.next_id(world, "h"),
                    label=BENIGN,
                    kind=r.kind,
                    account_id=rng.choice(ids),
                    targets=(),
                    requester=r.requester,
                    evidence=(),
                    at=r.at - timedelta(days=day) + jitter,
                    approver=rng.choice(pool) if status == "executed" else None,
                    status=status,
                )
            )


def build_stream(world: World, count: int, rng: random.Random) -> None:
    stories = (_thaw, _thaw, _thaw, _lost_phone, _new_number, _protective, _email_change)
    made, attempts = 0, 0
    while made < count and attempts < count * 20:
        attempts += 1
        if rng.choice(stories)(world, rng) is not None:
            made += 1


def _file(
    world: World,
    rng: random.Random,
    account: Account,
    kind: str,
    targets: tuple[str, ...],
    requester: str,
    evidence_types: tuple[str, ...],
) -> SynthRequest | None:
    at = _when(world, requester, rng)
    if at is None:
        return None
    return st.file_request(
        world,
        SynthRequest(
            id=st.next_id(world, "req"),
            label=BENIGN,
            kind=kind,
            account_id=account.id,
            targets=targets,
            requester=requester,
            evidence=st.evidence_for(world, account, evidence_types, at, rng),
            at=at,
            approver=rng.choice(reviewers(world)),
        ),
    )


def _when(world: World, requester: str, rng: random.Random) -> datetime | None:
    if requester == "app":  # the app files whenever the user asks
        return st.day_start(world) + (world.now - st.day_start(world)) * rng.random()
    return st.on_shift_time(world, requester, rng)


def _thaw(world: World, rng: random.Random) -> SynthRequest | None:
    account = st.pick_account(world, rng, lambda a: bool(st.free_restrictions(world, a)))
    if account is None:
        return None
    target = rng.choice(st.free_restrictions(world, account))
    if target.reason_class is ReasonClass.NON_LIFTABLE:
        return None  # asked for now and then, but always rejected by policy: not friction
    if target.reason == "USER_SELF_FREEZE" and rng.random() < 0.6:
        requester = "app"
    else:
        requester = rng.choice(st.requesters(world, st.THAW_TEAMS[target.reason])).id
    types = st.THAW_EVIDENCE.get(target.reason, ())
    return _file(world, rng, account, "thaw", (target.id,), requester, types)


def _unbind(world: World, rng: random.Random, types: tuple[str, ...]) -> tuple[Account, str] | None:
    account = st.pick_account(world, rng, lambda a: bool(st.free_bindings(world, a, types)))
    if account is None or world.profiles[account.id].dormant:
        return None
    return account, rng.choice(st.free_bindings(world, account, types)).id


def _agent(world: World, rng: random.Random) -> str:
    return rng.choice(st.requesters(world, st.UNBIND_TEAMS)).id


def _lost_phone(world: World, rng: random.Random) -> SynthRequest | None:
    """A customer lost their phone: a new one logs in, and support removes the old TOTP."""
    found = _unbind(world, rng, ("TOTP", "PASSKEY"))
    if found is None:
        return None
    account, target = found
    p = world.profiles[account.id]
    at = world.now - rng.uniform(2, 20) * HOUR
    world.add_events(account.id, AccountEvent("login", at, p.ip, p.country, f"{p.device}-lost"))
    return _file(world, rng, account, "unbind", (target,), _agent(world, rng), st.UNBIND_EVIDENCE)


def _new_number(world: World, rng: random.Random) -> SynthRequest | None:
    """A customer changed their phone number and asks to remove the old one."""
    found = _unbind(world, rng, ("SMS_PHONE",))
    if found is None:
        return None
    account, target = found
    world.add_events(
        account.id, AccountEvent("phone_change", world.now - rng.uniform(20, 120) * HOUR)
    )
    return _file(world, rng, account, "unbind", (target,), _agent(world, rng), st.UNBIND_EVIDENCE)


def _protective(world: World, rng: random.Random) -> SynthRequest | None:
    found = _unbind(world, rng, PROTECTIVE)
    if found is None:
        return None
    account, target = found
    requester = "app" if rng.random() < 0.5 else _agent(world, rng)
    return _file(world, rng, account, "unbind", (target,), requester, ())


def _email_change(world: World, rng: random.Random) -> SynthRequest | None:
    found = _unbind(world, rng, ("EMAIL",))
    if found is None:
        return None
    account, target = found
    return _file(world, rng, account, "unbind", (target,), _agent(world, rng), st.UNBIND_EVIDENCE)
