"""Staff across every team and role, with the shift each works (UTC start hour)."""

from __future__ import annotations

import random

from thawgate.domain.model import Principal
from thawgate.synth.world import World

# (team, how many, roles, id prefix). The demo's named principals come first in their team.
ROSTER: tuple[tuple[str, int, tuple[str, ...], str], ...] = (
    ("customer_support", 24, ("requester",), "cs"),
    ("vip_desk", 6, ("requester",), "vip"),
    ("risk_ops", 8, ("requester",), "rops"),
    ("risk_ops", 2, ("restriction_placer",), "rops-placer"),
    ("fraud_risk", 12, ("fraud_reviewer",), "fr"),
    ("fraud_risk", 4, ("fraud_reviewer", "senior_fraud_reviewer"), "sfr"),
    ("fraud_risk", 3, ("requester",), "frq"),
    ("compliance", 4, ("requester", "compliance_reviewer"), "comp"),
    ("compliance", 2, ("restriction_placer",), "comp-placer"),
    ("legal", 3, ("requester", "legal_reviewer"), "legal"),
    ("security", 4, ("requester",), "secq"),
    ("security", 2, ("policy_admin",), "padmin"),
    ("security", 2, ("access_admin",), "aadmin"),
    ("compliance", 2, ("auditor",), "audit"),
)

# The demo's principals, kept by name so `thawgate demo` prints tokens for them.
NAMED: tuple[Principal, ...] = (
    Principal("alice", "Alice Chen", "customer_support", frozenset({"requester"})),
    Principal("fay", "Fay Liu", "fraud_risk", frozenset({"fraud_reviewer"})),
    Principal(
        "sam", "Sam Okafor", "fraud_risk", frozenset({"fraud_reviewer", "senior_fraud_reviewer"})
    ),
    Principal("lena", "Lena Ortiz", "legal", frozenset({"requester", "legal_reviewer"})),
    Principal("carl", "Carl Weber", "compliance", frozenset({"requester", "compliance_reviewer"})),
    Principal("sec-bot", "Security automation", "security", frozenset({"restriction_placer"})),
    Principal("app", "Exchange app", "customer_support", frozenset({"self_service"})),
    Principal("events", "Event stream", "security", frozenset({"event_ingestor"})),
)

FIRST = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Gita", "Hugo", "Ines", "Jon", "Kira")
LAST = ("Abe", "Brandt", "Costa", "Dube", "Eze", "Fox", "Gale", "Hale", "Ito", "Jain", "Kova")
SHIFTS = (0, 8, 8, 8, 8, 16)  # most staff work days; a few work the evening or night shift


def build_staff(world: World, rng: random.Random) -> None:
    world.principals.extend(NAMED)
    for team, count, roles, prefix in ROSTER:
        for n in range(1, count + 1):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            world.principals.append(Principal(f"{prefix}-{n}", name, team, frozenset(roles)))
    for p in world.principals:
        world.shift_start[p.id] = 8 if p.id in {"alice", "fay", "sam"} else rng.choice(SHIFTS)
