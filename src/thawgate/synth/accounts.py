"""Accounts with plausible histories: logins, devices, countries, security changes, money."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from thawgate.domain.catalog import BindingType, Reason
from thawgate.domain.model import Account, AccountEvent, Binding, Restriction
from thawgate.synth.world import Profile, World

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
HISTORY_DAYS = 100
COUNTRIES = ("DE", "FR", "GB", "ES", "IT", "NL", "PL", "TR", "BR", "US", "SG", "JP", "KR", "NG")

# (reason, weight, who places it). Every reason appears in a world of a few hundred accounts.
REASON_MIX: tuple[tuple[str, int, str], ...] = (
    (Reason.ATO_SUSPECTED, 20, "sec-bot"),
    (Reason.RISK_RULE_HIT, 20, "rops-placer-1"),
    (Reason.P2P_DISPUTE, 10, "rops-placer-2"),
    (Reason.KYC_INCOMPLETE, 14, "comp-placer-1"),
    (Reason.USER_SELF_FREEZE, 12, "app"),
    (Reason.AML_REVIEW, 8, "comp-placer-2"),
    (Reason.LAW_ENFORCEMENT, 4, "sec-bot"),
    (Reason.COURT_ORDER, 3, "sec-bot"),
    (Reason.SANCTIONS_HIT, 3, "comp-placer-1"),
    (Reason.SECURITY_COOLDOWN, 6, "system"),
)
SCOPES = ("withdraw", "withdraw", "full", "trade", "transfer", "p2p", "login", "api", "deposit")


def build_accounts(world: World, count: int, rng: random.Random) -> None:
    for i in range(count):
        aid = str(100001 + i)
        shared_ip = rng.random() < 0.1 and i > 0  # a household: two accounts, one home IP
        ip = world.profiles[str(100000 + i)].ip if shared_ip else _home_ip(i)
        profile = Profile(f"d-{aid}-a", rng.choice(COUNTRIES[:10]), ip, rng.random() < 0.08)
        world.profiles[aid] = profile
        age = _age_days(rng, profile.dormant)
        account = Account(aid, world.now - timedelta(days=age, hours=rng.randrange(24)))
        world.accounts[aid] = account
        world.add_events(aid, *_history(world.now, age, profile, rng))
        account.bindings.extend(_bindings(account, rng))
        if rng.random() < 0.16:
            account.restrictions.append(random_restriction(world, account, rng))


def _home_ip(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def _age_days(rng: random.Random, dormant: bool) -> int:
    if dormant:
        return rng.randrange(200, 1500)
    return 3 + int(rng.paretovariate(1.2) * 40) % 1800


def _history(now: datetime, age: int, p: Profile, rng: random.Random) -> list[AccountEvent]:
    start = max(0, min(age, HISTORY_DAYS))
    if p.dormant:  # funded long ago: only the monthly staking payout since, no login
        return [
            AccountEvent("deposit", now - timedelta(days=d), amount_usd=f"{rng.uniform(5, 80):.2f}")
            for d in range(89, 0, -30)
        ]
    gap = rng.choice((1, 2, 3, 5, 8, 14))
    events = [
        AccountEvent(
            "login", now - timedelta(days=d, hours=rng.randrange(24)), p.ip, p.country, p.device
        )
        for d in range(start, 0, -gap)
    ]
    events += _money(now, start, p, rng)
    events += _benign_changes(now, p, rng)
    return events


def _money(now: datetime, days: int, p: Profile, rng: random.Random) -> list[AccountEvent]:
    out = []
    for _ in range(rng.randrange(0, 6)):
        at = now - timedelta(days=rng.uniform(0.5, max(days, 1)))
        kind = rng.choice(("deposit", "deposit", "withdrawal"))
        amount = f"{rng.lognormvariate(6, 1.4):.2f}"
        out.append(AccountEvent(kind, at, p.ip, p.country, p.device, amount_usd=amount))
    return out


def _benign_changes(now: datetime, p: Profile, rng: random.Random) -> list[AccountEvent]:
    """The everyday noise that looks like a takeover on its own: travel, new phones, resets."""
    out: list[AccountEvent] = []
    if rng.random() < 0.03:
        out.append(AccountEvent("password_change", now - timedelta(days=rng.uniform(0.2, 7))))
    if rng.random() < 0.04:
        at = now - timedelta(hours=rng.uniform(1, 23))
        out.append(AccountEvent("login", at, p.ip, p.country, f"{p.device}-new"))
    if rng.random() < 0.02:
        at = now - timedelta(days=rng.uniform(0.1, 7))
        ip = f"198.18.{rng.randrange(256)}.{rng.randrange(256)}"
        out.append(AccountEvent("login", at, ip, rng.choice(COUNTRIES[10:]), p.device))
    if rng.random() < 0.05:
        at = now - timedelta(days=rng.uniform(0.1, 7))
        out.append(
            AccountEvent("withdrawal_address_added", at, address=f"bc1q{rng.getrandbits(40):x}")
        )
    if rng.random() < 0.005:  # a new eSIM: a SIM swap the customer asked for
        out.append(AccountEvent("sim_swap", now - timedelta(days=rng.uniform(0.5, 7))))
    if rng.random() < 0.01:
        out.append(AccountEvent("phone_change", now - timedelta(days=rng.uniform(0.5, 7))))
    return out


def _bindings(account: Account, rng: random.Random) -> list[Binding]:
    odds = {
        BindingType.EMAIL: 1.0,
        BindingType.TOTP: 0.55,
        BindingType.SMS_PHONE: 0.45,
        BindingType.PASSKEY: 0.15,
        BindingType.DEVICE: 0.9,
        BindingType.WITHDRAWAL_ADDRESS: 0.7,
        BindingType.API_KEY: 0.08,
    }
    bound = account.created_at + timedelta(hours=1)
    return [
        Binding(f"b-{account.id}-{t.lower()}", account.id, t.value, bound)
        for t, p in odds.items()
        if rng.random() < p
    ]


def random_restriction(
    world: World,
    account: Account,
    rng: random.Random,
    *,
    reason: str | None = None,
    age: timedelta | None = None,
) -> Restriction:
    """An active restriction of a reason drawn from REASON_MIX (or the one given)."""
    reasons, weights = zip(*((r, w) for r, w, _ in REASON_MIX), strict=True)
    reason = str(reason or rng.choices(reasons, weights)[0])
    placer = next(p for r, _, p in REASON_MIX if r == reason)
    longest = 40 if reason == Reason.SECURITY_COOLDOWN else 24 * 40  # a cooldown lasts 2 days
    age = age or timedelta(hours=rng.uniform(2, longest))
    placed = world.now - age
    n = len(account.restrictions) + 1
    return Restriction(
        id=f"r-{account.id}-{n}",
        account_id=account.id,
        scope="full" if reason in ("LAW_ENFORCEMENT", "COURT_ORDER") else rng.choice(SCOPES),
        reason=reason,
        placed_by=placer,
        placed_at=placed,
        expires_at=placed + 2 * DAY if reason == Reason.SECURITY_COOLDOWN else None,
    )
