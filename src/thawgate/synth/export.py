"""A world as a load file (API.md), plus its labelled request stream under `requests`.

`thawgate load` reads `principals` and `accounts` and ignores the rest; the `requests` key
keeps the labels with the world, for whoever replays it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from thawgate.domain.model import Account, AccountEvent
from thawgate.synth.world import SynthRequest, World


def to_load_file(world: World) -> dict[str, Any]:
    return {
        "principals": [
            {"id": p.id, "name": p.name, "team": p.team, "roles": sorted(p.roles)}
            for p in world.principals
        ],
        "accounts": [_account(a, world.events.get(a.id, [])) for a in world.accounts.values()],
        "requests": [_request(r) for r in world.requests],
    }


def _t(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _account(a: Account, events: list[AccountEvent]) -> dict[str, Any]:
    return {
        "id": a.id,
        "created_at": _t(a.created_at),
        "restrictions": [
            {
                "id": r.id,
                "scope": r.scope,
                "reason": r.reason,
                "placed_by": r.placed_by,
                "placed_at": _t(r.placed_at),
                **({"expires_at": _t(r.expires_at)} if r.expires_at else {}),
            }
            for r in a.restrictions
            if r.is_active
        ],
        "bindings": [
            {"id": b.id, "type": b.type, "bound_at": _t(b.bound_at)}
            for b in a.bindings
            if b.is_active
        ],
        "events": [_event(e) for e in events],
    }


def _event(e: AccountEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"type": e.type, "at": _t(e.at)}
    for key in ("ip", "country", "device", "amount_usd", "address"):
        value = getattr(e, key)
        if value is not None:
            out[key] = value
    return out


def _request(r: SynthRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "label": r.label,
        "kind": r.kind,
        "account_id": r.account_id,
        "targets": list(r.targets),
        "requester": r.requester,
        "at": _t(r.at),
        "approver": r.approver,
        "evidence": [
            {"type": e.type, "reference": e.reference, "observed_at": _t(e.observed_at)}
            for e in r.evidence
        ],
    }
