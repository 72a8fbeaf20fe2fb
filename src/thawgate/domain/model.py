"""The domain model: accounts, restrictions, bindings, events and principals.

Requests and their state machine live in `request.py`; decisions in `decision.py`.
Only methods here change state; each checks the transition it makes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

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


def storable_time(value: datetime) -> datetime:
    """A timezone-aware time that is also a time in UTC, as it is stored: `9999-12-31T23:59-12:00`
    is not (it would be year 10000). ValueError otherwise."""
    if value.tzinfo is None:
        raise ValueError("has no time zone (add Z for UTC)")
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999 in UTC") from None
    return value


# The most characters each text field of an event holds (the `account_events` columns), so a
# longer value is refused the same way on SQLite and PostgreSQL.
EVENT_TEXT_MAX = {"ip": 64, "country": 8, "device": 128, "address": 256, "amount_usd": 32}


def event_text(name: str, value: object) -> str | None:
    """An event's text field as stored; ValueError names what is wrong with it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name}: expected text, got {type(value).__name__}")
    text = str(value)
    if len(text) > EVENT_TEXT_MAX[name]:
        raise ValueError(f"{name}: at most {EVENT_TEXT_MAX[name]} characters")
    return text


def event_amount(value: object) -> str | None:
    """`amount_usd` as stored: a finite decimal number, given as text or as a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"amount_usd: expected a number, got {type(value).__name__}")
    text = str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"amount_usd: {text[:40]!r} is not a number") from None
    if not amount.is_finite() or abs(amount) >= AMOUNT_LIMIT:
        raise ValueError(f"amount_usd: must be a finite number below {AMOUNT_LIMIT:,}")
    return event_text("amount_usd", text)


AMOUNT_LIMIT = 10**15  # USD; far beyond any one event, and within a 64-bit whole-dollar count


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
