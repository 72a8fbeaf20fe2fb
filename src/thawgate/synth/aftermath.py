"""What an account does in the 72 h after a request executes: a *modelled* behaviour, for
measuring post-thaw monitoring (docs/risk.md, "Post-thaw monitoring").

The mixes below are our assumptions, not observations. Attackers cash out, mostly fast; some are
patient and quiet. Owners mostly stay quiet; a few do exactly what an attacker does (add an
address and withdraw, travel and withdraw, change a password), which is monitoring's false-alarm
cost. The same seed gives the same aftermath.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from thawgate.domain.model import AccountEvent
from thawgate.synth.accounts import COUNTRIES
from thawgate.synth.world import BENIGN, SynthRequest, World

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

# (style, weight) for attackers, and for owners.
ATTACKER_STYLES = (("fresh_address", 55), ("abroad", 20), ("quiet", 15), ("lockout", 10))
OWNER_STYLES = (
    ("quiet", 70),
    ("old_address", 15),
    ("fresh_address", 8),
    ("travel", 4),
    ("password", 3),
)


def aftermath(
    world: World,
    req: SynthRequest,
    executed_at: datetime,
    rng: random.Random,
    style: str | None = None,
) -> tuple[str, list[AccountEvent]]:
    """The style (drawn unless given) and the events of the window after `req` executed at
    `executed_at`."""
    styles = OWNER_STYLES if req.label == BENIGN else ATTACKER_STYLES
    if style is None:
        style = rng.choices([s for s, _ in styles], weights=[w for _, w in styles])[0]
    p = world.profiles[req.account_id]
    t0 = executed_at + rng.uniform(0.2, 6) * HOUR
    home = AccountEvent("login", t0, p.ip, p.country, p.device)
    abroad = AccountEvent(
        "login", t0, f"203.0.113.{rng.randrange(1, 255)}", _away(world, req, rng), "x-dev"
    )
    fresh = f"bc1q{rng.getrandbits(40):x}"
    old = _old_address(world, req.account_id, executed_at) or fresh
    events: list[AccountEvent]
    if style == "fresh_address":
        login = abroad if req.label != BENIGN and rng.random() < 0.5 else home
        events = [
            login,
            AccountEvent("withdrawal_address_added", t0 + 5 * MINUTE, address=fresh),
            _withdrawal(t0 + rng.uniform(10, 600) * MINUTE, fresh, rng),
        ]
    elif style in ("abroad", "travel"):
        events = [abroad, _withdrawal(t0 + rng.uniform(5, 120) * MINUTE, old, rng)]
    elif style == "quiet" and req.label != BENIGN:  # a patient attacker behind a home proxy
        events = [home, _withdrawal(t0 + rng.uniform(24, 60) * HOUR, old, rng)]
    elif style in ("lockout", "password"):
        events = [home, AccountEvent("password_change", t0 + 2 * MINUTE)]
        if req.label != BENIGN:
            events.append(_withdrawal(t0 + rng.uniform(1, 12) * HOUR, old, rng))
    elif style == "old_address":
        events = [home, _withdrawal(t0 + rng.uniform(5, 240) * MINUTE, old, rng)]
    else:
        events = [home]
    if req.kind == "unbind" and req.label == BENIGN:
        events.append(AccountEvent("binding_added", t0 + MINUTE))  # the new authenticator
    return style, events


def _withdrawal(at: datetime, address: str, rng: random.Random) -> AccountEvent:
    return AccountEvent("withdrawal", at, address=address, amount_usd=f"{rng.uniform(50, 9e4):.2f}")


def _old_address(world: World, account_id: str, before: datetime) -> str | None:
    """An address the account added more than a day before: one the owner (or an attacker who
    staged it early) already had."""
    added = [
        e
        for e in world.events.get(account_id, ())
        if e.type == "withdrawal_address_added" and e.address and e.at < before - 24 * HOUR
    ]
    return added[-1].address if added else None


def _away(world: World, req: SynthRequest, rng: random.Random) -> str:
    """Where a login from abroad comes from: an attacker returns from where the takeover logged
    in (a login from another country in the week before the request); else anywhere far."""
    home = world.profiles[req.account_id].country
    recent = [
        e.country
        for e in world.events.get(req.account_id, ())
        if e.type == "login" and e.country and e.country != home and req.at - e.at < 7 * 24 * HOUR
    ]
    if recent and req.label != BENIGN:
        return recent[-1]
    return rng.choice(COUNTRIES[10:])
