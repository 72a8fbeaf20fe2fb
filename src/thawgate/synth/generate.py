"""`generate(accounts, seed)`: the whole synthetic exchange, the same for the same seed."""

from __future__ import annotations

from datetime import datetime

from thawgate.synth import attacks, insiders
from thawgate.synth.accounts import build_accounts
from thawgate.synth.benign import build_history, build_stream
from thawgate.synth.staff import build_staff
from thawgate.synth.world import DEFAULT_NOW, World, rng_for


def generate(accounts: int, seed: int, *, now: datetime = DEFAULT_NOW) -> World:
    """Staff, accounts, today's benign stream and the 30 days of history behind it, then the
    labelled attacks."""
    if accounts < 50:
        raise ValueError("a synthetic exchange needs at least 50 accounts")
    world = World(seed=seed, now=now.replace(microsecond=0))
    build_staff(world, rng_for(seed, "staff"))
    build_accounts(world, accounts, rng_for(seed, "accounts"))
    build_stream(world, max(30, accounts // 40), rng_for(seed, "benign"))
    build_history(world, rng_for(seed, "history"))
    _plant_attacks(world, max(3, accounts // 200), seed)
    world.requests.sort(key=lambda r: (r.at, r.id))
    return world


def _plant_attacks(world: World, per_scenario: int, seed: int) -> None:
    singles = (
        attacks.social_engineered_unbind,
        attacks.sim_swap_phone_unbind,
        attacks.fresh_ato_thaw,
        attacks.legal_hold_by_support,
    )
    for plant in singles:
        rng = rng_for(seed, plant.__name__)
        for _ in range(per_scenario):
            plant(world, rng)
    rng = rng_for(seed, "insider_burst")
    while _count(world, "insider_burst") < per_scenario:
        if not insiders.insider_burst(world, rng, rng.randrange(6, 13)):
            break
    rng = rng_for(seed, "collusion_pair")
    while _count(world, "collusion_pair") < per_scenario:
        if not insiders.collusion_pair(world, rng, rng.randrange(3, 7)):
            break
    rng = rng_for(seed, "linked_ring")
    while _count(world, "linked_ring") < per_scenario:
        if not insiders.linked_ring(world, rng, rng.randrange(4, 8)):
            break


def _count(world: World, label: str) -> int:
    return sum(1 for r in world.requests if r.label == label)
