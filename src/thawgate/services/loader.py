"""`thawgate load`: an organisation and world file (API.md), idempotent by ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.catalog import BindingType, EventType, Reason, Role, Scope, Team
from thawgate.domain.errors import ValidationFailed
from thawgate.domain.model import AccountEvent, Binding, Principal, Restriction
from thawgate.services.env import Env


@dataclass
class LoadReport:
    principals: int = 0
    accounts: int = 0
    restrictions: int = 0
    bindings: int = 0
    events: int = 0
    skipped: list[str] = field(default_factory=list)


def load_world(
    uow: UnitOfWork, env: Env, data: object, progress: Callable[[int], None] | None = None
) -> LoadReport:
    """Validate every entry first, then write in one transaction. Errors name the entry."""
    if not isinstance(data, dict):
        raise ValidationFailed("the file must be a mapping with `principals` and/or `accounts`")
    principals = [_principal(p, i) for i, p in enumerate(_list(data, "principals"))]
    accounts = [_account(a, i) for i, a in enumerate(_list(data, "accounts"))]
    report = LoadReport()
    with uow:
        now = env.clock()
        for p in principals:
            existing = uow.principals.get(p.id)
            if existing is not None and not existing.active:
                p = replace(p, active=False)  # a reload never lifts a suspension
            report.principals += uow.principals.upsert(p, now)
        known = {p.id for p in uow.principals.all()} | {"system"}
        for n, acct in enumerate(accounts):
            _load_account(uow, acct, known, now, report)
            if progress is not None:
                progress(n + 1)
        uow.commit()
    return report


def _load_account(
    uow: UnitOfWork, acct: dict[str, Any], known: set[str], now: datetime, report: LoadReport
) -> None:
    aid = acct["id"]
    if not uow.accounts.exists(aid):
        uow.accounts.add(aid, acct["created_at"])
        report.accounts += 1
        uow.accounts.add_events(aid, acct["events"], now)
        report.events += len(acct["events"])
    for r in acct["restrictions"]:
        if r.placed_by not in known:
            raise ValidationFailed(
                f"accounts[{aid}].restrictions[{r.id}].placed_by: unknown principal {r.placed_by}",
                field="placed_by",
            )
        existing = uow.accounts.restriction(r.id)
        if existing is None:
            uow.accounts.add_restriction(r, now)
            report.restrictions += 1
        elif existing.account_id != aid:
            raise ValidationFailed(f"restriction {r.id} already belongs to {existing.account_id}")
    account = uow.accounts.get(aid)
    have = {b.id for b in account.bindings} if account else set()
    for b in acct["bindings"]:
        if b.id not in have:
            uow.accounts.add_binding(b, now)
            report.bindings += 1


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ValidationFailed(f"{key}: expected a list")
    return value


def _req(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] in (None, ""):
        raise ValidationFailed(f"{where}.{key}: required", field=key)
    return entry[key]


def _one_of(value: Any, allowed: set[str], where: str) -> str:
    if str(value) not in allowed:
        raise ValidationFailed(f"{where}: {value!r} is not one of {', '.join(sorted(allowed))}")
    return str(value)


def _time(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(f"{where}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{where}: {value!r} has no time zone (add Z for UTC)")
    return parsed


def _principal(raw: Any, i: int) -> Principal:
    where = f"principals[{i}]"
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping")
    pid = str(_req(raw, "id", where))
    where = f"principals[{pid}]"
    roles = raw.get("roles") or []
    if not isinstance(roles, list):
        raise ValidationFailed(f"{where}.roles: expected a list")
    valid_roles = {str(r) for r in Role}
    return Principal(
        id=pid,
        name=str(raw.get("name") or pid),
        team=_one_of(_req(raw, "team", where), {str(t) for t in Team}, f"{where}.team"),
        roles=frozenset(_one_of(r, valid_roles, f"{where}.roles") for r in roles),
        active=bool(raw.get("active", True)),
    )


def _account(raw: Any, i: int) -> dict[str, Any]:
    where = f"accounts[{i}]"
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping")
    aid = str(_req(raw, "id", where))
    where = f"accounts[{aid}]"
    created = _time(_req(raw, "created_at", where), f"{where}.created_at")
    return {
        "id": aid,
        "created_at": created,
        "restrictions": [
            _restriction(r, aid, f"{where}.restrictions[{j}]")
            for j, r in enumerate(raw.get("restrictions") or [])
        ],
        "bindings": [
            _binding(b, aid, created, f"{where}.bindings[{j}]")
            for j, b in enumerate(raw.get("bindings") or [])
        ],
        "events": [
            _event(e, f"{where}.events[{j}]") for j, e in enumerate(raw.get("events") or [])
        ],
    }


def _restriction(raw: Any, aid: str, where: str) -> Restriction:
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping")
    expires = raw.get("expires_at")
    return Restriction(
        id=str(_req(raw, "id", where)),
        account_id=aid,
        scope=_one_of(_req(raw, "scope", where), {str(s) for s in Scope}, f"{where}.scope"),
        reason=_one_of(_req(raw, "reason", where), {str(r) for r in Reason}, f"{where}.reason"),
        placed_by=str(_req(raw, "placed_by", where)),
        placed_at=_time(_req(raw, "placed_at", where), f"{where}.placed_at"),
        expires_at=None if expires is None else _time(expires, f"{where}.expires_at"),
        note=raw.get("note"),
    )


def _binding(raw: Any, aid: str, created: datetime, where: str) -> Binding:
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping")
    bound = raw.get("bound_at")
    return Binding(
        id=str(_req(raw, "id", where)),
        account_id=aid,
        type=_one_of(_req(raw, "type", where), {str(b) for b in BindingType}, f"{where}.type"),
        bound_at=created if bound is None else _time(bound, f"{where}.bound_at"),
    )


def _event(raw: Any, where: str) -> AccountEvent:
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping")
    amount = raw.get("amount_usd")
    return AccountEvent(
        type=_one_of(_req(raw, "type", where), {str(e) for e in EventType}, f"{where}.type"),
        at=_time(_req(raw, "at", where), f"{where}.at"),
        ip=raw.get("ip"),
        country=raw.get("country"),
        device=raw.get("device"),
        amount_usd=None if amount is None else str(amount),
        address=raw.get("address"),
    )


def parse_events(raw: list[Any]) -> list[AccountEvent]:
    """The API's event list, in the load-file form."""
    return [_event(e, f"events[{i}]") for i, e in enumerate(raw)]
