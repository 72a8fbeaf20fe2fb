"""The domain model: accounts, restrictions, bindings, events and principals.

Requests and their state machine live in `request.py`; decisions in `decision.py`.
Only methods here change state; each checks the transition it makes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from thawgate.domain.catalog import Reason, ReasonClass, reason_class, scope_widens_or_keeps
from thawgate.domain.errors import Conflict, ValidationFailed


@dataclass(slots=True)
class Restriction:
    id: str
    account_id: str
    scope: str
    reason: str
    placed_by: str
    placed_at: datetime
    status: str = "active"  # active | lifted | expired
    expires_at: datetime | None = None
    note: str | None = None
    version: int = 1
    placers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.placed_by not in self.placers:
            self.placers.insert(0, self.placed_by)

    @property
    def reason_class(self) -> ReasonClass:
        return reason_class(self.reason)

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def amend(
        self, *, by: str, reason: str | None, scope: str | None, note: str | None
    ) -> list[str]:
        """Raise the class or widen the scope. Returns the names of the fields changed."""
        if not self.is_active:
            raise Conflict(f"restriction {self.id} is {self.status}; only an active one is amended")
        changed: list[str] = []
        if reason is not None and reason != self.reason:
            if reason_class(reason) < self.reason_class:
                raise ValidationFailed(
                    f"reason {reason} is a lower class than {self.reason}: lowering is a thaw",
                    field="reason",
                )
            changed.append("reason")
        if scope is not None and scope != self.scope:
            if not scope_widens_or_keeps(self.scope, scope):
                raise ValidationFailed(
                    f"scope {scope} does not widen {self.scope}: narrowing is a thaw",
                    field="scope",
                )
            changed.append("scope")
        if note is not None and note != self.note:
            changed.append("note")
        # Every check passed: only now change anything.
        if "reason" in changed and reason is not None:
            self.reason = reason
        if "scope" in changed and scope is not None:
            self.scope = scope
        if "note" in changed:
            self.note = note
        if changed:
            self.version += 1
            if by not in self.placers:
                self.placers.append(by)
        return changed

    def lift(self) -> None:
        if not self.is_active:
            raise Conflict(f"restriction {self.id} is {self.status}, not active")
        if self.reason_class is ReasonClass.NON_LIFTABLE:
            raise Conflict(f"restriction {self.id} ({self.reason}) is non-liftable")
        self.status = "lifted"
        self.version += 1

    def expire(self, now: datetime) -> None:
        if not self.is_active or self.expires_at is None or self.expires_at > now:
            raise Conflict(f"restriction {self.id} is not due to expire")
        self.status = "expired"
        self.version += 1


@dataclass(slots=True)
class Binding:
    id: str
    account_id: str
    type: str
    bound_at: datetime
    status: str = "bound"  # bound | removed
    version: int = 1

    @property
    def is_active(self) -> bool:
        return self.status == "bound"

    def remove(self) -> None:
        if not self.is_active:
            raise Conflict(f"binding {self.id} is already removed")
        self.status = "removed"
        self.version += 1


@dataclass(frozen=True, slots=True)
class AccountEvent:
    type: str
    at: datetime
    ip: str | None = None
    country: str | None = None
    device: str | None = None
    amount_usd: str | None = None
    address: str | None = None
    received_at: datetime | None = None


@dataclass(slots=True)
class Account:
    id: str
    created_at: datetime
    restrictions: list[Restriction] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)

    def restriction(self, restriction_id: str) -> Restriction | None:
        return next((r for r in self.restrictions if r.id == restriction_id), None)

    def binding(self, binding_id: str) -> Binding | None:
        return next((b for b in self.bindings if b.id == binding_id), None)


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    name: str
    team: str
    roles: frozenset[str]
    active: bool = True

    def has_role(self, role: str) -> bool:
        return role in self.roles


def is_reason(value: str) -> bool:
    return value in Reason.__members__.values()
