"""Need to know in request JSON (domain/need_to_know.py): which requests a viewer sees redacted.

Cleared viewers (legal, compliance, fraud_risk, auditors) cost nothing: no query at all.
"""

from __future__ import annotations

from thawgate.adapters.db.need_to_know_repo import target_reasons
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.model import Principal
from thawgate.domain.need_to_know import is_cleared, restricted_owners
from thawgate.domain.request import Request


def owners_to_hide(
    uow: UnitOfWork, viewer: Principal, requests: list[Request]
) -> dict[str, list[str]]:
    """request id -> the owning teams of its sensitive targets, for requests this viewer sees
    redacted."""
    thaws = [r for r in requests if r.kind == "thaw"]
    if is_cleared(viewer) or not thaws:
        return {}
    with uow:
        reasons = target_reasons(uow.conn, [t for r in thaws for t in r.targets])
    out = {}
    for r in thaws:
        teams = restricted_owners(viewer, [reasons[t] for t in r.targets if t in reasons])
        if teams:
            out[r.id] = teams
    return out
