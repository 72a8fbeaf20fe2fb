"""The synthetic exchange: deterministic per seed, and covering every catalog entry."""

from __future__ import annotations

from collections import Counter
from functools import cache

from thawgate.domain.catalog import BindingType, Reason, Role, Team
from thawgate.synth import BENIGN, SCENARIOS, World, generate
from thawgate.synth.export import to_load_file

ACCOUNTS = 300


@cache
def world(seed: int = 11) -> World:
    return generate(ACCOUNTS, seed)


def test_the_same_seed_gives_the_same_world() -> None:
    assert to_load_file(generate(ACCOUNTS, 11)) == to_load_file(world(11))


def test_another_seed_gives_another_world() -> None:
    assert to_load_file(generate(ACCOUNTS, 12)) != to_load_file(world(11))


def test_every_reason_and_binding_type_appears() -> None:
    w = world()
    reasons = {r.reason for a in w.accounts.values() for r in a.restrictions}
    types = {b.type for a in w.accounts.values() for b in a.bindings}
    assert reasons == {str(r) for r in Reason}
    assert types == {str(t) for t in BindingType}


def test_staff_cover_every_team_and_role() -> None:
    w = world()
    assert {p.team for p in w.principals} == {str(t) for t in Team} - {"system"}
    roles = {r for p in w.principals for r in p.roles}
    assert roles == {str(r) for r in Role} - {"system"}


def test_accounts_have_histories() -> None:
    w = world()
    kinds = Counter(e.type for events in w.events.values() for e in events)
    assert {"login", "deposit", "withdrawal", "password_change"} <= set(kinds)
    assert kinds["login"] > 10 * ACCOUNTS // 2
    assert len({e.device for events in w.events.values() for e in events}) > ACCOUNTS // 2


def test_the_stream_is_mostly_benign_with_every_scenario_labelled() -> None:
    labels = Counter(r.label for r in world().requests)
    assert set(labels) == {BENIGN, *SCENARIOS}
    assert labels[BENIGN] > sum(labels.values()) / 2
    assert all(labels[s] >= 3 for s in SCENARIOS)


def test_no_target_is_asked_for_twice() -> None:
    targets = [t for r in world().requests for t in r.targets]
    assert len(targets) == len(set(targets))


def test_the_stream_is_in_time_order_before_now() -> None:
    w = world()
    times = [r.at for r in w.requests]
    assert times == sorted(times)
    assert all(t < w.now for t in times)


def test_the_load_file_names_only_known_placers() -> None:
    data = to_load_file(world())
    known = {p["id"] for p in data["principals"]} | {"system"}
    placers = {r["placed_by"] for a in data["accounts"] for r in a["restrictions"]}
    assert placers <= known
