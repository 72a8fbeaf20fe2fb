"""Post-thaw monitoring, the pure part: what the monitoring rules are evaluated on.

Each executed request opens a window on its account (`window_hours`, a policy setting). Every
account event whose claimed `at` falls inside a window is described by `MonitoringFacts`, computed
from the window's events alone plus two look-ups from before it: the countries the account had
established (used at least `ESTABLISHED_AFTER` before the window opened), and when each withdrawal
address was added. The rules (policy/monitoring.py) are CEL
conditions over these facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from thawgate.domain.model import AccountEvent

# A country counts as the account's own once used at least this long before the window opened:
# one first used in the days before the thaw (often the takeover itself) is still new.
ESTABLISHED_AFTER = timedelta(days=7)

# Security-binding and credential changes: "another credential change" in the window.
CREDENTIAL_CHANGES = frozenset(
    {"password_change", "binding_added", "binding_removed", "phone_change", "sim_swap"}
)


@dataclass(frozen=True, slots=True)
class Window:
    """The monitoring window an executed request opened on its account."""

    request_id: str
    account_id: str
    kind: str  # thaw | unbind
    requester: str
    approvers: tuple[str, ...]
    opened_at: datetime
    closes_at: datetime

    def covers(self, at: datetime) -> bool:
        return self.opened_at <= at <= self.closes_at


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An account event with the id the database gave it."""

    id: int
    event: AccountEvent


@dataclass(frozen=True, slots=True)
class MonitoringFacts:
    """One event in a window, as the monitoring rules see it (the CEL variables)."""

    kind: str
    event_type: str
    minutes_since_execution: int
    amount_usd: int
    address_age_minutes: int  # -1: no withdrawal_address_added event for the address on record
    country_is_new: bool
    new_country_login_before: bool
    credential_change: bool
    earlier_credential_changes: int
    earlier_bindings_added: int

    def cel_data(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "event_type": self.event_type,
            "minutes_since_execution": self.minutes_since_execution,
            "amount_usd": self.amount_usd,
            "address_age_minutes": self.address_age_minutes,
            "country_is_new": self.country_is_new,
            "new_country_login_before": self.new_country_login_before,
            "credential_change": self.credential_change,
            "earlier_credential_changes": self.earlier_credential_changes,
            "earlier_bindings_added": self.earlier_bindings_added,
        }


def window_facts(
    window: Window,
    events: Sequence[StoredEvent],
    *,
    known_countries: frozenset[str],
    addresses_added: Mapping[str, Sequence[datetime]],
) -> list[tuple[StoredEvent, MonitoringFacts]]:
    """The facts of every event of `events` inside the window, in `at` order.

    `known_countries`: countries in the account's events up to `ESTABLISHED_AFTER` before the
    window opened.
    `addresses_added`: for each withdrawal address, when it was added (any time).
    """
    inside = sorted(
        (e for e in events if window.covers(e.event.at)), key=lambda e: (e.event.at, e.id)
    )
    out: list[tuple[StoredEvent, MonitoringFacts]] = []
    new_country_login = False
    credential_changes = bindings_added = 0
    for stored in inside:
        e = stored.event
        country_is_new = e.country is not None and e.country not in known_countries
        is_credential = e.type in CREDENTIAL_CHANGES
        out.append(
            (
                stored,
                MonitoringFacts(
                    kind=window.kind,
                    event_type=e.type,
                    minutes_since_execution=_minutes(e.at - window.opened_at),
                    amount_usd=whole_dollars(e.amount_usd),
                    address_age_minutes=address_age_minutes(e, addresses_added),
                    country_is_new=country_is_new,
                    new_country_login_before=new_country_login,
                    credential_change=is_credential,
                    earlier_credential_changes=credential_changes,
                    earlier_bindings_added=bindings_added,
                ),
            )
        )
        # What this event tells the events after it.
        new_country_login = new_country_login or (e.type == "login" and country_is_new)
        credential_changes += is_credential
        bindings_added += e.type == "binding_added"
    return out


def address_age_minutes(e: AccountEvent, addresses_added: Mapping[str, Sequence[datetime]]) -> int:
    """Minutes since the event's address was last added before it; -1 when never on record."""
    if e.address is None:
        return -1
    before = [at for at in addresses_added.get(e.address, ()) if at <= e.at]
    return _minutes(e.at - max(before)) if before else -1


def whole_dollars(amount: str | None) -> int:
    """An event's `amount_usd` (a decimal string) in whole dollars; 0 when absent or unreadable."""
    if not amount:
        return 0
    try:
        return int(float(amount))
    except (ValueError, OverflowError):  # not a number, NaN, or infinite
        return 0


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
