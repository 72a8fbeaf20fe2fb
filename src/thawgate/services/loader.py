"""`thawgate load`: an organisation and world file (API.md), idempotent by ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.catalog import BindingType, EventType, Reason, Role, Scope, Team
from thawgate.domain.errors import ValidationFailed
from thawgate.domain.model import (
    AccountEvent,
    Binding,
    Principal,
    Restriction,
    event_amount,
    event_text,
    storable_time,
)
from thawgate.services.env import Env


@dataclass
class LoadReport:
    principals: int = 0
    accounts: int = 0
    restrictions: int = 0
    bindings: int = 0
    events: int = 0
    # Keys the load-file format does not know, by where they were (`accounts[A1].restrictions[0]:
    # expires_a`): ignored, but reported, so that a misspelt `expires_at` does not pass unseen.
    ignored: list[str] = field(default_factory=list)


def load_world(
    uow: UnitOfWork, env: Env, data: object, progress: Callable[[int], None] | None = None
) -> LoadReport:
    """Validate every entry first, then write in one transaction. Errors name the entry."""
    if not isinstance(data, dict):
        raise ValidationFailed("the file must be a mapping with `principals` and/or `accounts`")
    principals = [_principal(p, i) for i, p in enumerate(_list(data, "principals"))]
    accounts = [_account(a, i) for i, a in enumerate(_list(data, "accounts"))]
    report = LoadReport(ignored=unknown_keys(data))
    with uow:
        now = env.clock()
        for p in principals:
            existing = uow.principals.get(p.id)
            if existing is not None and not existing.active:
                p = replace(p, active=False)  # a reload never lifts a suspension
            if uow.principals.upsert(p, now):
                report.principals += 1
                _audit_principal(uow, existing, p, now)
        known = {p.id for p in uow.principals.all()} | {"system"}
        for n, acct in enumerate(accounts):
            _load_account(uow, acct, known, now, report)
            if progress is not None:
                progress(n + 1)
        uow.commit()
    return report


def _audit_principal(
    uow: UnitOfWork, before: Principal | None, after: Principal, now: datetime
) -> None:
    """Load-file roles are authority: who holds which is audited like a grant (API.md: every
    state change is an event), by the operator who ran `thawgate load`."""
    fields = {"name": after.name, "team": after.team, "roles": sorted(after.roles),
              "active": after.active}  # fmt: skip
    if before is None:
        action, data = "principal:created", dict(fields, via="load")
    else:
        was = {"name": before.name, "team": before.team, "roles": sorted(before.roles),
               "active": before.active}  # fmt: skip
        changed = {k: v for k, v in fields.items() if was[k] != v}
        action, data = "principal:updated", {**changed, "before": was, "via": "load"}
    uow.audit.append(
        at=now, actor="operator", action=action, subject=f"principal:{after.id}", data=data
    )


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
    for b in acct["bindings"]:
        existing_binding = uow.accounts.binding(b.id)
        if existing_binding is None:
            uow.accounts.add_binding(b, now)
            report.bindings += 1
        elif existing_binding.account_id != aid:
            raise ValidationFailed(
                f"binding {b.id} already belongs to {existing_binding.account_id}"
            )


# The load file's keys (API.md "Load file"), per kind of entry.
_KEYS = {
    # `requests`: the stream `thawgate synth` writes beside the world; the demo files them.
    "file": {"principals", "accounts", "requests"},
    "principal": {"id", "name", "team", "roles", "active"},
    "account": {"id", "created_at", "restrictions", "bindings", "events"},
    "restriction": {"id", "scope", "reason", "placed_by", "placed_at", "expires_at", "note"},
    "binding": {"id", "type", "bound_at"},
    "event": {"type", "at", "ip", "country", "device", "amount_usd", "address"},
}
_CHILDREN = {"restrictions": "restriction", "bindings": "binding", "events": "event"}


def unknown_keys(data: dict[str, Any]) -> list[str]:
    """Every key of the file that the format does not know, named by where it is."""
    found = [f"{k} (at the top)" for k in data if k not in _KEYS["file"]]

    def check(entry: object, kind: str, where: str) -> None:
        if isinstance(entry, dict):
            found.extend(f"{where}: {k}" for k in entry if k not in _KEYS[kind])

    for i, p in enumerate(_list(data, "principals")):
        check(p, "principal", f"principals[{i}]")
    for i, a in enumerate(_list(data, "accounts")):
        where = f"accounts[{a.get('id', i) if isinstance(a, dict) else i}]"
        check(a, "account", where)
        for key, kind in _CHILDREN.items():
            children = a.get(key) if isinstance(a, dict) else None
            for j, child in enumerate(children if isinstance(children, list) else []):
                check(child, kind, f"{where}.{key}[{j}]")
    return found


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ValidationFailed(f"{key}: expected a list")
    return value


def _req(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] in (None, ""):
        raise ValidationFailed(f"{where}.{key}: required", field=key)
    return entry[key]


ID_MAX = 128  # the id columns
NAME_MAX = 256


def _text(value: Any, where: str, max_length: int, *, numbers: bool = True) -> str:
    """A text field as stored: text (or a number written as text in YAML, like `id: 10001`), no
    longer than its column, and storable on both databases (no NUL, no lone surrogate)."""
    scalar = str | int if numbers else str
    if isinstance(value, bool) or not isinstance(value, scalar):
        raise ValidationFailed(f"{where}: expected text, got {type(value).__name__}")
    text = str(value)
    if len(text) > max_length:
        raise ValidationFailed(f"{where}: at most {max_length} characters")
    if "\x00" in text:
        raise ValidationFailed(f"{where}: must not contain a NUL character")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValidationFailed(f"{where}: must be valid Unicode text") from None
    return text


def _id(entry: dict[str, Any], where: str) -> str:
    return _text(_req(entry, "id", where), f"{where}.id", ID_MAX)


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
    try:
        return storable_time(parsed)
    except ValueError as exc:
        raise ValidationFailed(f"{where}: {value!r} {exc}") from None


def _principal(raw: Any, i: int) -> Principal:
    where = f"principals[{i}]"
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping")
    pid = _id(raw, where)
    where = f"principals[{pid}]"
    roles = raw.get("roles") or []
    if not isinstance(roles, list):
        raise ValidationFailed(f"{where}.roles: expected a list")
    valid_roles = {str(r) for r in Role}
    active = raw.get("active", True)
    if not isinstance(active, bool):  # `active: "no"` must not load an active principal
        raise ValidationFailed(f"{where}.active: expected true or false, got {active!r}")
    return Principal(
        id=pid,
        name=_text(raw.get("name") or pid, f"{where}.name", NAME_MAX),
        team=_one_of(_req(raw, "team", where), {str(t) for t in Team}, f"{where}.team"),
        roles=frozenset(_one_of(r, valid_roles, f"{where}.roles") for r in roles),
        active=active,
    )


def _account(raw: Any, i: int) -> dict[str, Any]:
    where = f"accounts[{i}]"
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping")
    aid = _id(raw, where)
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
    expires, note = raw.get("expires_at"), raw.get("note")
    return Restriction(
        id=_id(raw, where),
        account_id=aid,
        scope=_one_of(_req(raw, "scope", where), {str(s) for s in Scope}, f"{where}.scope"),
        reason=_one_of(_req(raw, "reason", where), {str(r) for r in Reason}, f"{where}.reason"),
        placed_by=_text(_req(raw, "placed_by", where), f"{where}.placed_by", ID_MAX),
        placed_at=_time(_req(raw, "placed_at", where), f"{where}.placed_at"),
        expires_at=None if expires is None else _time(expires, f"{where}.expires_at"),
        note=None if note is None else _text(note, f"{where}.note", 4000, numbers=False),
    )


def _binding(raw: Any, aid: str, created: datetime, where: str) -> Binding:
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping")
    bound = raw.get("bound_at")
    return Binding(
        id=_id(raw, where),
        account_id=aid,
        type=_one_of(_req(raw, "type", where), {str(b) for b in BindingType}, f"{where}.type"),
        bound_at=created if bound is None else _time(bound, f"{where}.bound_at"),
    )


def _event(raw: Any, where: str) -> AccountEvent:
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping")
    try:  # the same rules as the API's events (domain/model.py)
        ip, country, device, address = (
            event_text(name, raw.get(name)) for name in ("ip", "country", "device", "address")
        )
        amount = event_amount(raw.get("amount_usd"))
    except ValueError as exc:
        raise ValidationFailed(f"{where}.{exc}") from None
    for name, text in (("ip", ip), ("country", country), ("device", device), ("address", address)):
        if text is not None:
            _text(text, f"{where}.{name}", len(text))
    return AccountEvent(
        type=_one_of(_req(raw, "type", where), {str(e) for e in EventType}, f"{where}.type"),
        at=_time(_req(raw, "at", where), f"{where}.at"),
        ip=ip,
        country=country,
        device=device,
        amount_usd=amount,
        address=address,
    )


def parse_events(raw: list[Any]) -> list[AccountEvent]:
    """The API's event list, in the load-file form."""
    return [_event(e, f"events[{i}]") for i, e in enumerate(raw)]
