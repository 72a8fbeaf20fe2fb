"""Role grants: two keys to raise privilege, one to lower it (POLICY.md floor items 8 and 9).

Pure: the grant's state machine, the limits on what may be granted and for how long, who may
approve, and which recorded approvals a principal's current roles no longer back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from thawgate.domain.catalog import CLAUSE_FITS
from thawgate.domain.clauses import Approval
from thawgate.domain.errors import Conflict, SeparationOfDuties, ValidationFailed
from thawgate.domain.model import Principal

# Service roles: held by service principals from the load file, never granted to a person.
NEVER_GRANTED = frozenset({"system", "self_service", "event_ingestor"})
# Reviewer and admin roles lapse within 90 days; every other grantable role within a year.
PRIVILEGED = frozenset({
    "fraud_reviewer", "senior_fraud_reviewer", "legal_reviewer", "compliance_reviewer",
    "policy_admin", "access_admin",
})  # fmt: skip
GRANTABLE = PRIVILEGED | frozenset({"requester", "restriction_placer", "auditor"})
PRIVILEGED_MAX = timedelta(days=90)
OTHER_MAX = timedelta(days=365)

# pending -> active (second access admin) -> revoked | expired; pending -> revoked (withdrawn).
GRANT_TRANSITIONS: dict[str, dict[str, str]] = {
    "approve": {"pending": "active"},
    "revoke": {"pending": "revoked", "active": "revoked"},
    "expire": {"active": "expired", "pending": "expired"},
}


def max_duration(role: str) -> timedelta:
    return PRIVILEGED_MAX if role in PRIVILEGED else OTHER_MAX


def check_grantable(*, role: str, expires_at: datetime, now: datetime) -> None:
    """What may be granted, and for how long. Raises ValidationFailed naming the field."""
    if role in NEVER_GRANTED:
        raise ValidationFailed(
            f"role: {role} is a service role; it is never granted to a person", field="role"
        )
    if role not in GRANTABLE:
        raise ValidationFailed(f"role: {role} is not a grantable role", field="role")
    if expires_at <= now:
        raise ValidationFailed("expires_at: must be in the future", field="expires_at")
    limit = max_duration(role)
    if expires_at - now > limit:
        raise ValidationFailed(
            f"expires_at: a {role} grant lasts at most {limit.days} days", field="expires_at"
        )


@dataclass(slots=True)
class Grant:
    id: str
    principal_id: str
    role: str
    justification: str
    expires_at: datetime
    proposed_by: str
    proposed_at: datetime
    status: str = "pending"
    approved_by: str | None = None
    approved_at: datetime | None = None
    ended_by: str | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    version: int = 0

    def is_effective(self, now: datetime) -> bool:
        return self.status == "active" and self.expires_at > now

    def _move(self, verb: str) -> None:
        allowed = GRANT_TRANSITIONS[verb]
        if self.status not in allowed:
            raise Conflict(f"grant {self.id} is {self.status}; it cannot {verb}")
        self.status = allowed[self.status]

    def approve(self, *, by: str, at: datetime) -> None:
        """The second key. Never the proposer, never the grantee (floor item 9)."""
        if by == self.proposed_by:
            raise SeparationOfDuties(
                "you proposed this grant; a second access admin must approve it", floor_item=9
            )
        if by == self.principal_id:
            raise SeparationOfDuties(
                "this grant is yours; a grantee never approves their own grant", floor_item=9
            )
        if self.expires_at <= at:
            raise Conflict(f"grant {self.id} expired before it was approved")
        self._move("approve")
        self.approved_by, self.approved_at = by, at

    def revoke(self, *, by: str, at: datetime, reason: str) -> None:
        """One key lowers privilege."""
        self._move("revoke")
        self.ended_by, self.ended_at, self.end_reason = by, at, reason

    def expire(self, now: datetime) -> None:
        if self.expires_at > now:
            raise Conflict(f"grant {self.id} is not due to expire")
        self._move("expire")
        self.ended_by, self.ended_at, self.end_reason = "system", now, "lapsed at its expiry"

    def confirm(self, *, by: str, at: datetime) -> None:
        """An access review keeps the grant."""
        if self.status != "active":
            raise Conflict(f"grant {self.id} is {self.status}; only an active grant is reviewed")
        if by == self.principal_id:
            raise SeparationOfDuties("no one reviews their own grant", floor_item=9)
        self.reviewed_by, self.reviewed_at = by, at


def effective_roles(base: frozenset[str], grants: list[Grant], now: datetime) -> frozenset[str]:
    """Load-file roles plus every active, unexpired grant."""
    return base | {g.role for g in grants if g.is_effective(now)}


def with_roles(principal: Principal, roles: frozenset[str]) -> Principal:
    return Principal(
        id=principal.id,
        name=principal.name,
        team=principal.team,
        roles=roles,
        active=principal.active,
    )


def unbacked_approvals(
    approvals: list[Approval], principals: dict[str, Principal]
) -> list[Approval]:
    """Approvals whose principal is gone, suspended, or no longer holds a role that fits the
    clause the approval filled (floor item 8: a revoked or expired grant voids them)."""
    out = []
    for a in approvals:
        p = principals.get(a.principal)
        fits = CLAUSE_FITS.get(a.role, frozenset())
        if p is None or not p.active or not (p.roles & fits):
            out.append(a)
    return out
