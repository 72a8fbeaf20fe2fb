"""How approvals fill clauses, and the separation-of-duties floor (POLICY.md items 1-4, 7).

The floor is code, not policy: no policy pack can lower it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from thawgate.domain.catalog import CLAUSE_FITS, CLAUSE_SPECIFICITY
from thawgate.domain.decision import Clause
from thawgate.domain.errors import Forbidden, SeparationOfDuties
from thawgate.domain.model import Principal

APPROVAL_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Approval:
    principal: str
    role: str  # the clause it filled
    team: str
    at: datetime
    comment: str
    state_digest: str
    break_glass: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "principal": self.principal,
            "role": self.role,
            "team": self.team,
            "at": self.at.isoformat(),
            "comment": self.comment,
            "state_digest": self.state_digest,
        } | ({"break_glass": True} if self.break_glass else {})


def check_floor(
    *, approver: Principal, requester: str, placers: set[str], approvals: list[Approval]
) -> None:
    """Floor items 1-3: raise SeparationOfDuties when this approver may never approve."""
    if approver.id == requester:
        raise SeparationOfDuties(
            "you submitted this request; the requester never approves their own request",
            floor_item=1,
        )
    if approver.id in placers:
        raise SeparationOfDuties(
            "you placed or amended a restriction this request lifts; "
            "its placer never approves the lift",
            floor_item=2,
        )
    if any(a.principal == approver.id for a in approvals):
        raise SeparationOfDuties(
            "you already approved this request; one person fills at most one clause",
            floor_item=3,
        )


def open_clauses(clauses: tuple[Clause, ...], approvals: list[Approval]) -> dict[str, int]:
    """Open slots per clause role."""
    filled: dict[str, int] = {}
    for a in approvals:
        filled[a.role] = filled.get(a.role, 0) + 1
    return {
        c.role: c.count - filled.get(c.role, 0) for c in clauses if c.count > filled.get(c.role, 0)
    }


def fitting_clause(roles: frozenset[str], open_slots: dict[str, int]) -> str | None:
    """The most specific open clause that these roles fit."""
    for clause_role in CLAUSE_SPECIFICITY:
        if open_slots.get(clause_role, 0) > 0 and roles & CLAUSE_FITS[clause_role]:
            return clause_role
    return None


def choose_clause(
    *,
    approver: Principal,
    clauses: tuple[Clause, ...],
    min_teams: int,
    approvals: list[Approval],
) -> str:
    """Pick the clause this approval fills, enforcing floor item 4 (distinct teams)."""
    slots = open_clauses(clauses, approvals)
    role = fitting_clause(approver.roles, slots)
    if role is None:
        wanted = ", ".join(sorted(slots)) or "none"
        raise Forbidden(f"your roles fit no open approval clause (open: {wanted})")
    remaining = sum(slots.values()) - 1
    if team_count(approvals, approver.team) + remaining < min_teams:
        raise SeparationOfDuties(
            f"approvals must span at least {min_teams} teams; "
            f"team {approver.team} has already approved",
            floor_item=4,
        )
    return role


def is_satisfied(clauses: tuple[Clause, ...], min_teams: int, approvals: list[Approval]) -> bool:
    if open_clauses(clauses, approvals):
        return False
    return team_count(approvals) >= min_teams


def team_count(approvals: list[Approval], extra_team: str | None = None) -> int:
    """Distinct teams among the approvals (and an arriving approver's). A break-glass approval
    (floor item 10) stands in for a team of its own: breaking glass is exactly for when no
    second team can be reached."""
    teams = {a.team for a in approvals if not a.break_glass}
    if extra_team is not None:
        teams.add(extra_team)
    return len(teams) + sum(1 for a in approvals if a.break_glass)


def live_approvals(approvals: list[Approval], now: datetime) -> list[Approval]:
    """Floor item 7: approvals expire after 24 h."""
    return [a for a in approvals if now - a.at < APPROVAL_TTL]
