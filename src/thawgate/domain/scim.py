"""SCIM 2.0 (RFC 7643/7644) Users and Groups, as an IdP exports them, read into what Thawgate
needs: who exists, their name, whether they are active, their team, and the roles their groups
would ask for (proposals only: sync never grants a role).

Pure. Accepted shapes: a ListResponse (`{"Resources": [...]}`) holding Users and Groups (told
apart by their `schemas`), a bundle `{"Users": ..., "Groups": ...}` of ListResponses or lists,
or a JSON list of either.

Mapping (docs/authority.md "SCIM sync"):
- principal id = `userName`; the IdP's `id` is kept to recognise the user on later syncs;
- name = `displayName`, else `name.formatted`, else given + family name, else `userName`;
- team = the one group named `team:<team>` (or exactly `<team>`) the user belongs to;
- a group named `role:<role>` asks for that role: sync may propose it, never approve it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from thawgate.domain.catalog import Team
from thawgate.domain.errors import ValidationFailed
from thawgate.domain.grants import GRANTABLE

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PRINCIPAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
TEAMS = frozenset(t.value for t in Team if t is not Team.SYSTEM)


@dataclass(frozen=True, slots=True)
class ScimUser:
    scim_id: str
    principal_id: str
    name: str
    active: bool
    team: str | None
    roles_asked: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Group:
    scim_id: str
    display: str
    members: list[str] = field(default_factory=list)


def parse(document: Any) -> list[ScimUser]:
    """Every user with its team and asked-for roles; a ValidationFailed names the first bad
    entry (by its index or id) and nothing is applied."""
    users_raw: list[tuple[str, Any]] = []
    groups_raw: list[tuple[str, Any]] = []
    for where, resource in _resources(document, "$"):
        kind = _kind(resource, where)
        (users_raw if kind == "user" else groups_raw).append((where, resource))
    groups = [_group(r, where) for where, r in groups_raw]
    raw_users = [_user_fields(r, where) for where, r in users_raw]
    seen_ids: dict[str, str] = {}
    seen_names: dict[str, str] = {}
    for where, (scim_id, pid, *_rest) in zip((w for w, _ in users_raw), raw_users, strict=True):
        if scim_id in seen_ids:
            raise ValidationFailed(f"{where}.id: {scim_id!r} appears twice")
        if pid.lower() in seen_names:
            raise ValidationFailed(f"{where}.userName: {pid!r} appears twice")
        seen_ids[scim_id], seen_names[pid.lower()] = where, where
    member_of: dict[str, list[str]] = {}
    for g in groups:
        for member in g.members:
            member_of.setdefault(member, []).append(g.display)
    out = []
    for scim_id, pid, name, active, own_groups in raw_users:
        displays = sorted(set(member_of.get(scim_id, [])) | set(own_groups))
        teams = sorted({t for d in displays if (t := _team_of(d)) is not None})
        if len(teams) > 1:
            raise ValidationFailed(
                f"user {pid}: in more than one team group ({', '.join(teams)}); "
                "a principal belongs to one team"
            )
        roles = frozenset(r for d in displays if (r := _role_of(d, pid)) is not None)
        out.append(ScimUser(scim_id, pid, name, active, teams[0] if teams else None, roles))
    return out


def _resources(document: Any, where: str) -> list[tuple[str, Any]]:
    if isinstance(document, list):
        out: list[tuple[str, Any]] = []
        for i, item in enumerate(document):
            if isinstance(item, dict) and ("Resources" in item or "Users" in item):
                out += _resources(item, f"{where}[{i}]")
            else:
                out.append((f"{where}[{i}]", item))
        return out
    if not isinstance(document, dict):
        raise ValidationFailed(f"{where}: expected a SCIM ListResponse or a Users/Groups bundle")
    if "Resources" in document:
        resources = document["Resources"]
        if not isinstance(resources, list):
            raise ValidationFailed(f"{where}.Resources: expected a list")
        return [(f"{where}.Resources[{i}]", r) for i, r in enumerate(resources)]
    if "Users" in document or "Groups" in document:
        out = []
        for key in ("Users", "Groups"):
            if key in document:
                out += _resources(document[key], f"{where}.{key}")
        return out
    raise ValidationFailed(f"{where}: no `Resources`, `Users` or `Groups`")


def _kind(resource: Any, where: str) -> str:
    if not isinstance(resource, dict):
        raise ValidationFailed(f"{where}: expected a SCIM resource (a mapping)")
    schemas = resource.get("schemas") or []
    if USER_SCHEMA in schemas:
        return "user"
    if GROUP_SCHEMA in schemas:
        return "group"
    meta = resource.get("meta")
    kind = meta.get("resourceType") if isinstance(meta, dict) else None
    if kind in ("User", "Group"):
        return str(kind).lower()
    raise ValidationFailed(f"{where}.schemas: neither a SCIM User nor a Group")


def _text(resource: dict[str, Any], key: str, where: str) -> str:
    value = resource.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{where}.{key}: required (a non-empty string)", field=key)
    return value.strip()


def _user_fields(r: dict[str, Any], where: str) -> tuple[str, str, str, bool, list[str]]:
    scim_id = _text(r, "id", where)
    pid = _text(r, "userName", where)
    if not PRINCIPAL_ID.fullmatch(pid):
        raise ValidationFailed(
            f"{where}.userName: {pid!r} cannot be a principal id (letters, digits, ._@+-)"
        )
    active = r.get("active", True)
    if not isinstance(active, bool):
        raise ValidationFailed(f"{where}.active: expected true or false, not {active!r}")
    own = r.get("groups") or []
    if not isinstance(own, list):
        raise ValidationFailed(f"{where}.groups: expected a list")
    displays = [str(g["display"]) for g in own if isinstance(g, dict) and g.get("display")]
    return scim_id, pid, _name(r, pid), active, displays


def _name(r: dict[str, Any], pid: str) -> str:
    if isinstance(r.get("displayName"), str) and r["displayName"].strip():
        return str(r["displayName"]).strip()
    name = r.get("name")
    if isinstance(name, dict):
        if isinstance(name.get("formatted"), str) and name["formatted"].strip():
            return str(name["formatted"]).strip()
        parts = [name.get("givenName"), name.get("familyName")]
        joined = " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())
        if joined:
            return joined
    return pid


def _group(r: dict[str, Any], where: str) -> _Group:
    group = _Group(_text(r, "id", where), _text(r, "displayName", where))
    members = r.get("members") or []
    if not isinstance(members, list):
        raise ValidationFailed(f"{where}.members: expected a list")
    for i, m in enumerate(members):
        if not isinstance(m, dict) or not isinstance(m.get("value"), str):
            raise ValidationFailed(f"{where}.members[{i}].value: required")
        group.members.append(m["value"])
    _team_of(group.display)  # a misspelt team group is an error, not silently ignored
    if group.display.startswith("role:"):
        _role_of(group.display, f"group {group.display}")
    return group


def _team_of(display: str) -> str | None:
    if display.startswith("team:"):
        team = display.removeprefix("team:")
        if team not in TEAMS:
            raise ValidationFailed(f"group {display}: {team!r} is not a team")
        return team
    return display if display in TEAMS else None


def _role_of(display: str, who: str) -> str | None:
    if not display.startswith("role:"):
        return None
    role = display.removeprefix("role:")
    if role not in GRANTABLE:
        raise ValidationFailed(f"{who}: group {display}: {role!r} is not a grantable role")
    return role
