"""The synthetic exchange's types: a world of staff, accounts and a labelled request stream."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from thawgate.domain.model import Account, AccountEvent, Principal
from thawgate.domain.request import Evidence

# The default moment a world is generated at: fixed, so a seed alone fixes the world.
DEFAULT_NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)

BENIGN = "benign"
SCENARIOS: tuple[str, ...] = (
    "social_engineered_unbind",
    "sim_swap_phone_unbind",
    "fresh_ato_thaw",
    "insider_burst",
    "collusion_pair",
    "legal_hold_by_support",
    "linked_ring",
)


def rng_for(seed: int, part: str) -> random.Random:
    """One independent stream per part of the world, so adding to one part leaves the others."""
    # Not cryptographic: a reproducible simulation needs a seeded PRNG.
    return random.Random(f"{seed}:{part}")  # noqa: S311


@dataclass(frozen=True, slots=True)
class SynthRequest:
    """A request in the stream. `label` is `benign` or one of SCENARIOS."""

    id: str
    label: str
    kind: str  # thaw | unbind
    account_id: str
    targets: tuple[str, ...]
    requester: str
    evidence: tuple[Evidence, ...]
    at: datetime
    justification: str = "customer verified"
    approver: str | None = None  # who reviews it (the colluding partner, for collusion)
    status: str = "pending"  # history only: executed | rejected | withdrawn


@dataclass(frozen=True, slots=True)
class Profile:
    """How an account usually looks: its home device, country and IP; dormant or not."""

    device: str
    country: str
    ip: str
    dormant: bool = False


@dataclass
class World:
    seed: int
    now: datetime
    principals: list[Principal] = field(default_factory=list)
    shift_start: dict[str, int] = field(default_factory=dict)  # staff id -> UTC hour
    accounts: dict[str, Account] = field(default_factory=dict)
    events: dict[str, list[AccountEvent]] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    used_targets: set[str] = field(default_factory=set)  # one open request per target
    history: list[SynthRequest] = field(default_factory=list)  # settled, the 30 days before
    requests: list[SynthRequest] = field(default_factory=list)  # the stream to judge, today

    def staff(self, team: str, role: str) -> list[Principal]:
        return [p for p in self.principals if p.team == team and role in p.roles]

    def principal(self, pid: str) -> Principal:
        return next(p for p in self.principals if p.id == pid)

    def add_events(self, account_id: str, *events: AccountEvent) -> None:
        self.events.setdefault(account_id, []).extend(events)
        self.events[account_id].sort(key=lambda e: e.at)
