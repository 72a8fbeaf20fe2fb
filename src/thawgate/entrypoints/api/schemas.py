"""Request bodies (validated by pydantic) and the JSON shapes of API.md."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from thawgate.domain.catalog import EventType, EvidenceType, Reason, Scope
from thawgate.domain.model import Account, AccountEvent, Principal, Restriction
from thawgate.domain.need_to_know import shown_reason
from thawgate.domain.request import Evidence, Request
from thawgate.services.intake import MAX_DURATION_HOURS

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidenceIn(_Body):
    type: EvidenceType
    reference: Text
    observed_at: AwareDatetime

    def to_domain(self) -> Evidence:
        return Evidence(
            type=self.type.value, reference=self.reference, observed_at=self.observed_at
        )


class RequestIn(_Body):
    kind: Literal["thaw", "unbind"]
    account_id: Id
    targets: list[Id] = Field(min_length=1, max_length=50)
    justification: Text
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)
    ticket: Id | None = None
    duration_hours: int | None = Field(default=None, gt=0, le=MAX_DURATION_HOURS)


class ApprovalIn(_Body):
    comment: Text
    state_digest: str | None = None


class CommentIn(_Body):
    comment: Text


class AnswerIn(_Body):
    comment: Text
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class RestrictionIn(_Body):
    scope: Scope
    reason: Reason
    note: Text | None = None
    expires_at: AwareDatetime | None = None


class RestrictionPatch(_Body):
    reason: Reason | None = None
    scope: Scope | None = None
    note: Text | None = None


class EventIn(_Body):
    type: EventType
    at: AwareDatetime
    ip: str | None = None
    country: str | None = Field(default=None, max_length=8)
    device: str | None = None
    amount_usd: str | int | None = None
    address: str | None = None

    def to_domain(self) -> AccountEvent:
        return AccountEvent(
            type=self.type.value,
            at=self.at,
            ip=self.ip,
            country=self.country,
            device=self.device,
            address=self.address,
            amount_usd=None if self.amount_usd is None else str(self.amount_usd),
        )


def request_json(r: Request) -> dict[str, object]:
    decision = r.decision.as_dict()
    return {
        "id": r.id,
        "kind": r.kind,
        "account_id": r.account_id,
        "targets": list(r.targets),
        "status": r.status,
        "status_reason": r.status_reason,
        "requester": r.requester,
        "ticket": r.ticket,
        "justification": r.justification,
        "evidence": [e.as_dict() for e in r.evidence],
        "duration_hours": r.duration_hours,
        "created_at": r.created_at.isoformat(),
        "updated_at": (r.updated_at or r.created_at).isoformat(),
        "decision": decision,
        "plan": [op.as_dict() for op in r.decision.plan],
        "state_digest": r.state_digest,
        "approvals": [
            {
                "principal": a.principal,
                "role": a.role,
                "team": a.team,
                "at": a.at.isoformat(),
                "comment": a.comment,
            }
            | ({"break_glass": True} if a.break_glass else {})
            for a in r.approvals
        ],
        "stale_count": r.stale_count,
    }


def restriction_json(r: Restriction, viewer: Principal) -> dict[str, object]:
    shown = shown_reason(viewer, reason=r.reason, note=r.note)  # need to know: no tipping-off
    return {
        "id": r.id,
        "scope": r.scope,
        "reason": shown.reason,
        "owning_team": shown.owning_team,
        "status": r.status,
        "placed_by": r.placed_by,
        "placed_at": r.placed_at.isoformat(),
        "expires_at": None if r.expires_at is None else r.expires_at.isoformat(),
        "note": shown.note,
        "version": r.version,
    }


def account_json(a: Account, viewer: Principal) -> dict[str, object]:
    return {
        "id": a.id,
        "created_at": a.created_at.isoformat(),
        "restrictions": [restriction_json(r, viewer) for r in a.restrictions],
        "bindings": [
            {
                "id": b.id,
                "type": b.type,
                "status": b.status,
                "version": b.version,
                "bound_at": b.bound_at.isoformat(),
            }
            for b in a.bindings
        ],
    }
