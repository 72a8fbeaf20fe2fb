"""A thaw or unbind request, and the only code that moves its status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from thawgate.domain.break_glass import break_glass_clause
from thawgate.domain.clauses import (
    Approval,
    check_floor,
    choose_clause,
    is_satisfied,
    live_approvals,
)
from thawgate.domain.decision import Decision
from thawgate.domain.errors import Conflict
from thawgate.domain.model import Principal

OPEN_STATUSES = frozenset({"pending_approval", "needs_info", "approved"})
TERMINAL_STATUSES = frozenset({"executed", "rejected", "withdrawn", "expired", "reverted"})
STATUSES = OPEN_STATUSES | TERMINAL_STATUSES | {"failed"}  # API.md "Statuses"

# Every allowed transition, by verb. Anything else raises Conflict.
TRANSITIONS: dict[str, dict[str, str]] = {
    "decide_review": {"new": "pending_approval"},
    "decide_approve": {"new": "approved"},
    "decide_reject": {"new": "rejected"},
    "approve": {"pending_approval": "pending_approval"},
    "complete": {"pending_approval": "approved"},
    "reject": {"pending_approval": "rejected", "needs_info": "rejected", "approved": "rejected"},
    "question": {"pending_approval": "needs_info"},
    "answer": {"needs_info": "pending_approval"},
    "withdraw": {"pending_approval": "withdrawn", "needs_info": "withdrawn"},
    "expire": {"pending_approval": "expired", "needs_info": "expired"},
    "go_stale": {"pending_approval": "pending_approval", "approved": "pending_approval"},
    "void_approvals": {"pending_approval": "pending_approval", "approved": "pending_approval"},
    "execute": {"approved": "executed"},
    "fail": {"approved": "failed"},
    "retry": {"failed": "approved"},
    "revert": {"executed": "reverted"},
}


@dataclass(frozen=True, slots=True)
class Evidence:
    type: str
    reference: str
    observed_at: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "type": self.type,
            "reference": self.reference,
            "observed_at": self.observed_at.isoformat(),
        }


@dataclass(slots=True)
class Request:
    id: str
    kind: str
    account_id: str
    targets: list[str]
    requester: str
    justification: str
    evidence: list[Evidence]
    created_at: datetime
    decision: Decision
    state_digest: str
    ticket: str | None = None
    duration_hours: int | None = None
    status: str = "new"
    status_reason: str | None = None
    updated_at: datetime | None = None
    evidence_as_of: datetime | None = None
    approvals: list[Approval] = field(default_factory=list)
    stale_count: int = 0
    version: int = 0
    idempotency_key: str | None = None
    body_hash: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def _move(self, verb: str, now: datetime, reason: str | None = None) -> None:
        allowed = TRANSITIONS[verb]
        if self.status not in allowed:
            raise Conflict(
                f"request {self.id} is {self.status}; it cannot {verb.replace('_', ' ')}"
            )
        self.status = allowed[self.status]
        self.updated_at = now
        if reason is not None:
            self.status_reason = reason

    def settle_decision(self, now: datetime) -> None:
        """Move a new request to the status its decision asks for."""
        outcome = self.decision.outcome
        reason = None
        if outcome == "reject":
            hit = self.decision.rejecting_rule
            reason = f"{hit.id}: {hit.message}" if hit else "rejected by policy"
        self._move(f"decide_{outcome}", now, reason)

    def add_approval(
        self, *, approver: Principal, placers: set[str], comment: str, now: datetime
    ) -> Approval:
        """Fill the clause that fits; returns the approval. Completes the request if all are met."""
        if self.status != "pending_approval":
            raise Conflict(f"request {self.id} is {self.status}, not pending_approval")
        self.approvals = live_approvals(self.approvals, now)
        check_floor(
            approver=approver, requester=self.requester, placers=placers, approvals=self.approvals
        )
        role = choose_clause(
            approver=approver,
            clauses=self.decision.required_approvals,
            min_teams=self.decision.min_teams,
            approvals=self.approvals,
        )
        approval = Approval(
            principal=approver.id,
            role=role,
            team=approver.team,
            at=now,
            comment=comment,
            state_digest=self.state_digest,
        )
        self.approvals.append(approval)
        self._move("approve", now)
        if self.is_fully_approved:
            self._move("complete", now)
        return approval

    def add_break_glass_approval(
        self, *, approver: Principal, placers: set[str], comment: str, now: datetime
    ) -> Approval:
        """Break-glass (floor item 10): a senior fraud reviewer fills one open fraud clause,
        whatever the distinct-teams rule says; items 1-3 hold as for any approval."""
        if self.status != "pending_approval":
            raise Conflict(f"request {self.id} is {self.status}, not pending_approval")
        self.approvals = live_approvals(self.approvals, now)
        check_floor(
            approver=approver, requester=self.requester, placers=placers, approvals=self.approvals
        )
        role = break_glass_clause(
            approver=approver, clauses=self.decision.required_approvals, approvals=self.approvals
        )
        approval = Approval(
            principal=approver.id,
            role=role,
            team=approver.team,
            at=now,
            comment=comment,
            state_digest=self.state_digest,
            break_glass=True,
        )
        self.approvals.append(approval)
        self._move("approve", now)
        if self.is_fully_approved:
            self._move("complete", now)
        return approval

    @property
    def is_fully_approved(self) -> bool:
        return is_satisfied(
            self.decision.required_approvals, self.decision.min_teams, self.approvals
        )

    def go_stale(self, *, decision: Decision, digest: str, now: datetime, why: str) -> None:
        """The state the approvals were bound to changed: clear them and review again."""
        self._move("go_stale", now, why)
        self.decision = decision
        self.state_digest = digest
        self.approvals = []
        self.stale_count += 1

    def void_approvals(self, *, principals: set[str], now: datetime, why: str) -> list[Approval]:
        """Floor item 8: drop these principals' approvals (a revoked or expired grant, a
        suspension). An approved request that loses one goes back to review."""
        voided = [a for a in self.approvals if a.principal in principals]
        if not voided:
            return []
        self._move("void_approvals", now, why)
        self.approvals = [a for a in self.approvals if a.principal not in principals]
        return voided

    def redecide(self, *, decision: Decision, digest: str) -> None:
        """Record a re-evaluation that changed nothing the approvals were bound to."""
        self.decision = decision
        self.state_digest = digest

    def reject(self, now: datetime, reason: str) -> None:
        self._move("reject", now, reason)

    def question(self, now: datetime, comment: str) -> None:
        self._move("question", now, comment)

    def answer(self, *, now: datetime, evidence: list[Evidence]) -> None:
        self._move("answer", now, None)
        self.evidence = [*self.evidence, *evidence]
        self.evidence_as_of = now
        self.approvals = []

    def withdraw(self, now: datetime) -> None:
        self._move("withdraw", now, "withdrawn by the requester")

    def expire(self, now: datetime) -> None:
        self._move("expire", now, "left pending past the policy's expiry")

    def mark_executed(self, now: datetime) -> None:
        self._move("execute", now, None)

    def mark_failed(self, now: datetime, reason: str) -> None:
        self._move("fail", now, reason)

    def retry(self, now: datetime) -> None:
        self._move("retry", now, None)

    def revert(self, now: datetime, comment: str) -> None:
        self._move("revert", now, comment)
