"""Request bodies (validated by pydantic) and the JSON shapes of API.md."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from thawgate.domain.catalog import EventType, EvidenceType, Reason, Scope
from thawgate.domain.model import (
    Account,
    AccountEvent,
    Principal,
    Restriction,
    event_amount,
    event_text,
    storable_time,
)
from thawgate.domain.need_to_know import shown_reason
from thawgate.domain.request import Evidence, Request
from thawgate.services.intake import MAX_DURATION_HOURS


def storable(text: str) -> str:
    """Text that both databases store: PostgreSQL refuses NUL, and neither can encode a lone
    surrogate (which JSON's `\\ud800` escape can carry)."""
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return text


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    AfterValidator(storable),
]
Id = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    AfterValidator(storable),
]
# A time with a zone that is also a time in UTC (how it is stored and hashed).
Time = Annotated[AwareDatetime, AfterValidator(storable_time)]


def _nul_ok(text: str | None) -> str | None:
    return None if text is None else storable(text)


def _event_text(name: str) -> BeforeValidator:
    """An event's optional text field: at most its column's size, the same rule as the load
    file (domain/model.py `event_text`)."""
    return BeforeValidator(lambda value: event_text(name, value))


EventText = AfterValidator(_nul_ok)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidenceIn(_Body):
    type: EvidenceType
    reference: Text
    observed_at: Time

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
    expires_at: Time | None = None


class RestrictionPatch(_Body):
    reason: Reason | None = None
    scope: Scope | None = None
    note: Text | None = None


class EventIn(_Body):
    """An event in the load-file form (API.md): `amount_usd` is a number, as text or not."""

    type: EventType
    at: Time
    ip: Annotated[str | None, _event_text("ip"), EventText] = None
    country: Annotated[str | None, _event_text("country"), EventText] = None
    device: Annotated[str | None, _event_text("device"), EventText] = None
    amount_usd: Annotated[
        str | None,
        BeforeValidator(event_amount),
        WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]}),
    ] = None
    address: Annotated[str | None, _event_text("address"), EventText] = None

    def to_domain(self) -> AccountEvent:
        return AccountEvent(
            type=self.type.value,
            at=self.at,
            ip=self.ip,
            country=self.country,
            device=self.device,
            address=self.address,
            amount_usd=self.amount_usd,
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
