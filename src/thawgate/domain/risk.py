"""The risk scorecard: 0-100, every contributing factor with its points and a sentence.

Pure: it takes frozen facts and the pack's weights. The facts are built by the services from the
account's events and history, and persisted with the decision so a later policy can replay them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from thawgate.domain.catalog import EventType
from thawgate.domain.decision import RiskFactor, RiskScore, SentenceArg
from thawgate.domain.model import AccountEvent

DAY = timedelta(days=1)
DORMANT_DAYS = 60
PAIR_MIN = 5  # pair recurrence needs at least this many earlier approvals by the same approver
PAIR_MIN_APPROVERS = 3  # fewer distinct approvers: the pair is the team's size, not a choice
PAIR_SHARE_PCT = 40  # ... making up at least this share of the requester's approved requests
RING_MIN = 3  # linked restricted accounts that make a ring, not a shared household
USUAL_HOURS_MIN_HISTORY = 10  # fewer earlier requests than this: no usual hours known yet


@dataclass(frozen=True, slots=True)
class RiskFacts:
    """Everything the scorecard reads, already counted."""

    account_age_days: int
    credential_changes_7d: int = 0
    sim_or_phone_changes_7d: int = 0
    sim_swaps_7d: int = 0  # of those, SIM swaps reported by the carrier
    new_device_logins_24h: int = 0
    new_country_logins_24h: int = 0
    new_country_logins_7d: int = 0
    withdrawal_addresses_added_7d: int = 0
    other_restrictions_90d: int = 0
    earlier_thaws: int = 0
    linked_restricted_accounts: int = 0
    evidence_age_hours: int = 0
    youngest_target_age_minutes: int = 10**6
    prior_rejected_or_withdrawn_30d: int = 0
    requester_today: int = 0
    requester_30d: int = 0  # the requester's requests in the 30 days before today
    off_hours: bool = False
    days_since_login: int = 0  # capped at the 90 days of history read
    pair_approvals_30d: int = 0  # known at approval: the most any approver approved for them
    requester_approved_30d: int = 0  # the requester's approved requests in those 30 days
    requester_approvers_30d: int = 0  # how many different people approved them

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


# A factor's sentence: a template and its arguments. Templates are marked N_ so that `make i18n`
# puts them in the console's catalog; the decision keeps both (decision.RiskFactor).
Sentence = tuple[str, dict[str, SentenceArg]]
FactorFn = Callable[[RiskFacts], tuple[bool, Sentence]]


def N_(template: str) -> str:  # the gettext convention for "translate later"
    return template


def _say(template: str, **args: SentenceArg) -> Sentence:
    return template, args


def _count(n: int, one: str, many: str) -> Sentence:
    return (one, {}) if n == 1 else (many, {"n": n})


FACTORS: dict[str, FactorFn] = {
    "young_account": lambda f: (
        f.account_age_days < 30,
        _say(N_("The account is {days} days old."), days=f.account_age_days),
    ),
    "credential_change_7d": lambda f: (
        f.credential_changes_7d > 0,
        _count(
            f.credential_changes_7d,
            N_("A credential or password changed in the last 7 days."),
            N_("{n} credential or password changes in the last 7 days."),
        ),
    ),
    "sim_swap_or_phone_change_7d": lambda f: (
        f.sim_or_phone_changes_7d > 0,
        _say(N_("A SIM swap or phone-number change in the last 7 days.")),
    ),
    "sim_swap_7d": lambda f: (
        f.sim_swaps_7d > 0,
        _say(N_("The carrier reported a SIM swap in the last 7 days.")),
    ),
    "new_device_24h": lambda f: (
        f.new_device_logins_24h > 0,
        _say(N_("A login from a device never seen before, in the last 24 hours.")),
    ),
    "new_country_24h": lambda f: (
        f.new_country_logins_24h > 0,
        _say(N_("A login from a country never seen before, in the last 24 hours.")),
    ),
    "new_country_7d": lambda f: (
        f.new_country_logins_7d > f.new_country_logins_24h,
        _say(N_("A login from a new country earlier this week.")),
    ),
    "withdrawal_address_added_7d": lambda f: (
        f.withdrawal_addresses_added_7d > 0,
        _say(N_("A withdrawal address was added in the last 7 days.")),
    ),
    "restrictions_90d": lambda f: (
        f.other_restrictions_90d > 0,
        _count(
            f.other_restrictions_90d,
            N_("Another restriction was placed on the account in the last 90 days."),
            N_("{n} other restrictions were placed on the account in the last 90 days."),
        ),
    ),
    "earlier_thaws": lambda f: (
        f.earlier_thaws > 0,
        _count(
            f.earlier_thaws, N_("The account was thawed before."), N_("Thawed {n} times before.")
        ),
    ),
    "linked_restricted": lambda f: (
        f.linked_restricted_accounts > 0,
        _count(
            f.linked_restricted_accounts,
            N_("A linked account (shared device or IP) is under an active restriction."),
            N_("{n} linked accounts (shared device or IP) are under an active restriction."),
        ),
    ),
    "stale_evidence": lambda f: (
        f.evidence_age_hours > 48,
        _say(N_("The newest evidence is {hours} hours old."), hours=f.evidence_age_hours),
    ),
    "fresh_restriction": lambda f: (
        f.youngest_target_age_minutes < 60,
        _say(
            N_("The restriction was placed {minutes} minutes ago."),
            minutes=f.youngest_target_age_minutes,
        ),
    ),
    "prior_rejections": lambda f: (
        f.prior_rejected_or_withdrawn_30d > 0,
        _count(
            f.prior_rejected_or_withdrawn_30d,
            N_("An earlier request on this account was rejected or withdrawn (30 days)."),
            N_("{n} earlier requests on this account were rejected or withdrawn (30 days)."),
        ),
    ),
    "requester_volume": lambda f: (
        f.requester_today >= 5 and f.requester_today * 30 > 3 * max(f.requester_30d, 30),
        _say(
            N_("The requester filed {today} requests today against a usual {usual:.1f} a day."),
            today=f.requester_today,
            usual=f.requester_30d / 30,
        ),
    ),
    "off_hours": lambda f: (
        f.off_hours,
        _say(N_("Submitted outside the requester's usual hours.")),
    ),
    "takeover_pattern": lambda f: (
        f.new_device_logins_24h > 0 and (f.credential_changes_7d + f.sim_or_phone_changes_7d) > 0,
        _say(
            N_(
                "A new device in the last 24 hours and a credential, SIM or phone change this "
                "week: the takeover pattern."
            )
        ),
    ),
    "linked_ring": lambda f: (
        f.linked_restricted_accounts >= RING_MIN,
        _say(
            N_("{n} restricted accounts share a device or IP with this one: a ring."),
            n=f.linked_restricted_accounts,
        ),
    ),
    "dormant_account": lambda f: (
        f.days_since_login >= DORMANT_DAYS,
        _say(
            N_("No login for {days} days: the customer is not the one asking."),
            days=f.days_since_login,
        ),
    ),
    "pair_recurrence": lambda f: (
        f.pair_approvals_30d >= PAIR_MIN
        and f.requester_approvers_30d >= PAIR_MIN_APPROVERS
        and f.pair_approvals_30d * 100 >= PAIR_SHARE_PCT * max(f.requester_approved_30d, 1),
        _say(
            N_(
                "This approver approved {pair} of the requester's {approved} approved requests "
                "in the last 30 days."
            ),
            pair=f.pair_approvals_30d,
            approved=f.requester_approved_30d,
        ),
    ),
}


def score(facts: RiskFacts, weights: Mapping[str, int]) -> RiskScore:
    """Sum the weights of the firing factors, capped at 100."""
    fired: list[RiskFactor] = []
    for name, fn in FACTORS.items():
        points = weights.get(name, 0)
        if points <= 0:
            continue
        fires, (template, args) = fn(facts)
        if fires:
            detail = template.format(**args)
            fired.append(RiskFactor(name, points, detail, template, tuple(args.items())))
    total = min(100, sum(f.points for f in fired))
    return RiskScore(score=total, factors=tuple(fired))


@dataclass(slots=True)
class _Seen:
    devices: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)


def event_counts(events: list[AccountEvent], now: datetime) -> dict[str, int]:
    """Count the account factors from its events (sorted or not)."""
    counts = dict.fromkeys(
        (
            "credential_changes_7d",
            "sim_or_phone_changes_7d",
            "sim_swaps_7d",
            "new_device_logins_24h",
            "new_country_logins_24h",
            "new_country_logins_7d",
            "withdrawal_addresses_added_7d",
        ),
        0,
    )
    seen = _Seen()
    credential = {EventType.PASSWORD_CHANGE, EventType.BINDING_ADDED, EventType.BINDING_REMOVED}
    for ev in sorted(events, key=lambda e: e.at):
        age = now - ev.at
        if ev.type == EventType.LOGIN:
            _count_login(ev, age, seen, counts)
        elif age <= 7 * DAY:
            if ev.type in credential:
                counts["credential_changes_7d"] += 1
            elif ev.type in (EventType.SIM_SWAP, EventType.PHONE_CHANGE):
                counts["sim_or_phone_changes_7d"] += 1
                counts["sim_swaps_7d"] += ev.type == EventType.SIM_SWAP
            elif ev.type == EventType.WITHDRAWAL_ADDRESS_ADDED:
                counts["withdrawal_addresses_added_7d"] += 1
    return counts


def _count_login(ev: AccountEvent, age: timedelta, seen: _Seen, counts: dict[str, int]) -> None:
    had_history = bool(seen.devices or seen.countries)
    if had_history and age <= DAY and ev.device and ev.device not in seen.devices:
        counts["new_device_logins_24h"] += 1
    if had_history and ev.country and ev.country not in seen.countries:
        if age <= DAY:
            counts["new_country_logins_24h"] += 1
        if age <= 7 * DAY:
            counts["new_country_logins_7d"] += 1
    if ev.device:
        seen.devices.add(ev.device)
    if ev.country:
        seen.countries.add(ev.country)


def days_since_login(events: list[AccountEvent], now: datetime, account_age_days: int) -> int:
    """Days since the newest login in `events`; without one, the account's age (capped at 90).

    An account with no events at all is unknown, not dormant: 0."""
    if not events:
        return 0
    logins = [e.at for e in events if e.type == EventType.LOGIN and e.at <= now]
    if not logins:
        return min(account_age_days, 90)
    return max(0, (now - max(logins)).days)


def is_off_hours(submitted_at: datetime, earlier: list[datetime]) -> bool:
    """Outside the requester's usual hours: none of their earlier requests (at least
    USUAL_HOURS_MIN_HISTORY of them) was filed within an hour of this hour of the day (UTC)."""
    if len(earlier) < USUAL_HOURS_MIN_HISTORY:
        return False
    hour = submitted_at.hour
    usual = {t.hour for t in earlier}
    return not any((hour + d) % 24 in usual for d in (-1, 0, 1))


def pair_counts(
    approvers_of_earlier: list[tuple[str, ...]], approvers_now: tuple[str, ...]
) -> tuple[int, int, int]:
    """(the most earlier requests that one of `approvers_now` approved, the earlier approved
    requests, their distinct approvers) over the requester's earlier requests' approver lists
    (empty: not approved)."""
    approved = [a for a in approvers_of_earlier if a]
    best = max((sum(1 for a in approved if p in a) for p in approvers_now), default=0)
    return best, len(approved), len({p for a in approved for p in a})
