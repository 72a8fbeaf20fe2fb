"""A small hand-written exchange for `thawgate demo`, timed relative to now.

The synthetic-exchange generator replaces it later; this one shows every path of the spine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

DEMO_PRINCIPALS: list[dict[str, Any]] = [
    {"id": "alice", "name": "Alice Chen", "team": "customer_support", "roles": ["requester"]},
    {"id": "vince", "name": "Vince Park", "team": "vip_desk", "roles": ["requester"]},
    {"id": "lena", "name": "Lena Ortiz", "team": "legal", "roles": ["requester", "legal_reviewer"]},
    {
        "id": "carl",
        "name": "Carl Weber",
        "team": "compliance",
        "roles": ["requester", "compliance_reviewer"],
    },
    {"id": "fay", "name": "Fay Liu", "team": "fraud_risk", "roles": ["fraud_reviewer"]},
    {
        "id": "sam",
        "name": "Sam Okafor",
        "team": "fraud_risk",
        "roles": ["fraud_reviewer", "senior_fraud_reviewer"],
    },
    {"id": "ada", "name": "Ada Novak", "team": "fraud_risk", "roles": ["auditor"]},
    {
        "id": "sec-bot",
        "name": "Security automation",
        "team": "security",
        "roles": ["restriction_placer"],
    },
    {"id": "app", "name": "Exchange app", "team": "customer_support", "roles": ["self_service"]},
    {"id": "events", "name": "Event stream", "team": "security", "roles": ["event_ingestor"]},
]


def _t(now: datetime, **delta: float) -> str:
    return (now - timedelta(**delta)).isoformat()


def demo_world(now: datetime) -> dict[str, Any]:
    quiet_logins = [
        {
            "type": "login",
            "at": _t(now, days=d),
            "ip": "198.51.100.7",
            "country": "DE",
            "device": "d-home",
        }
        for d in (200, 120, 60, 20, 3)
    ]
    takeover = [
        *quiet_logins,
        {"type": "sim_swap", "at": _t(now, days=2)},
        {"type": "password_change", "at": _t(now, days=1, hours=20)},
        {
            "type": "login",
            "at": _t(now, hours=10),
            "ip": "203.0.113.9",
            "country": "BR",
            "device": "d-77",
        },
    ]
    accounts = [
        _account(
            "10001",
            now,
            400,
            quiet_logins,
            [("r-ato", "withdraw", "ATO_SUSPECTED", 30)],
            [("b-totp-1", "TOTP")],
        ),
        _account("10002", now, 700, quiet_logins, [("r-legal", "full", "LAW_ENFORCEMENT", 60)], []),
        _account(
            "10003", now, 300, quiet_logins, [("r-sanctions", "full", "SANCTIONS_HIT", 90)], []
        ),
        _account(
            "10004",
            now,
            500,
            quiet_logins,
            [("r-self", "trade", "USER_SELF_FREEZE", 2)],
            [("b-dev-4", "DEVICE")],
        ),
        _account(
            "10005",
            now,
            45,
            takeover,
            [("r-ato-5", "full", "ATO_SUSPECTED", 3)],
            [("b-totp-5", "TOTP"), ("b-phone-5", "SMS_PHONE")],
        ),
        _account("10006", now, 900, quiet_logins, [("r-aml", "withdraw", "AML_REVIEW", 40)], []),
    ]
    return {"principals": DEMO_PRINCIPALS, "accounts": accounts}


def _account(
    aid: str,
    now: datetime,
    age_days: int,
    events: list[dict[str, Any]],
    restrictions: list[tuple[str, str, str, int]],
    bindings: list[tuple[str, str]],
) -> dict[str, Any]:
    return {
        "id": aid,
        "created_at": _t(now, days=age_days),
        "restrictions": [
            {
                "id": rid,
                "scope": scope,
                "reason": reason,
                "placed_by": "sec-bot",
                "placed_at": _t(now, days=days),
            }
            for rid, scope, reason, days in restrictions
        ],
        "bindings": [
            {"id": bid, "type": btype, "bound_at": _t(now, days=age_days - 1)}
            for bid, btype in bindings
        ],
        "events": events,
    }
