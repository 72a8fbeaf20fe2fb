"""Central authority (API.md "Central authority: grants", "Policy versions") and alerts."""
# No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from thawgate.adapters.db.policy_versions_repo import StoredVersion
from thawgate.bootstrap import App
from thawgate.domain.break_glass import BreakGlass
from thawgate.domain.grants import Grant
from thawgate.domain.model import Principal
from thawgate.entrypoints.api.auth import principal_dependency
from thawgate.entrypoints.api.schemas import Id, Text, Time, storable
from thawgate.services import alerts, break_glass, grants, policy_admin

JSON = dict[str, object]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GrantIn(_Body):
    principal: Id
    role: Id
    expires_at: Time
    justification: Text


class CommentIn(_Body):
    comment: Text


class PolicyIn(_Body):
    document: Annotated[
        str, StringConstraints(min_length=1, max_length=1_000_000), AfterValidator(storable)
    ]


class BreakGlassIn(_Body):
    justification: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=20, max_length=4000),
        AfterValidator(storable),
    ]
    state_digest: Id | None = None


class BreakGlassReviewIn(_Body):
    verdict: Literal["upheld", "misuse"]
    comment: Text


def break_glass_json(b: BreakGlass) -> JSON:
    return {
        "id": b.id,
        "request_id": b.request_id,
        "principal": b.principal,
        "team": b.team,
        "clause": b.clause,
        "justification": b.justification,
        "at": b.at.isoformat(),
        "alert_id": b.alert_id,
        "review_status": b.review_status,
        "reviewed_by": b.reviewed_by,
        "reviewed_at": None if b.reviewed_at is None else b.reviewed_at.isoformat(),
        "verdict": b.verdict,
        "review_comment": b.review_comment,
    }


def grant_json(g: Grant) -> JSON:
    return {
        "id": g.id,
        "principal": g.principal_id,
        "role": g.role,
        "status": g.status,
        "proposed_by": g.proposed_by,
        "approved_by": g.approved_by,
        "expires_at": g.expires_at.isoformat(),
        "justification": g.justification,
    }


def version_json(v: StoredVersion) -> JSON:
    return {
        "version": v.version,
        "sha256": v.sha256,
        "status": v.status,
        "created_by": v.created_by,
        "proposed_by": v.proposed_by,
        "activated_by": v.activated_by,
    }


def router(app: App) -> APIRouter:  # one closure per route, by design
    routes = APIRouter(tags=["authority"])
    env = app.env

    Actor = Annotated[Principal, Depends(principal_dependency(app))]

    @routes.get("/principals/{principal_id}")
    def get_principal(principal_id: str, actor: Actor) -> JSON:
        view = grants.view_principal(
            app.uow(readonly=True), env, actor=actor, principal_id=principal_id
        )
        p = view.principal
        roles = [
            {
                "role": r.role,
                "grant_id": r.grant_id,
                "expires_at": None if r.expires_at is None else r.expires_at.isoformat(),
            }
            for r in view.roles
        ]
        return {"id": p.id, "name": p.name, "team": p.team, "active": p.active, "roles": roles}

    @routes.post("/grants", status_code=201)
    def propose(body: GrantIn, actor: Actor) -> JSON:
        g = grants.propose(
            app.uow(),
            env,
            actor=actor,
            principal_id=body.principal,
            role=body.role,
            expires_at=body.expires_at,
            justification=body.justification,
        )
        return grant_json(g)

    @routes.post("/grants/{grant_id}/approvals")
    def approve_grant(grant_id: str, body: CommentIn, actor: Actor) -> JSON:
        return grant_json(
            grants.approve(app.uow(), env, actor=actor, grant_id=grant_id, comment=body.comment)
        )

    @routes.post("/grants/{grant_id}/revocation")
    def revoke_grant(grant_id: str, body: CommentIn, actor: Actor) -> JSON:
        return grant_json(
            grants.revoke(app.uow(), env, actor=actor, grant_id=grant_id, comment=body.comment)
        )

    @routes.post("/principals/{principal_id}/suspension")
    def suspend(principal_id: str, body: CommentIn, actor: Actor) -> JSON:
        p = grants.suspend(
            app.uow(), env, actor=actor, principal_id=principal_id, comment=body.comment
        )
        return {"id": p.id, "active": p.active}

    @routes.post("/policy/versions", status_code=201)
    def upload_policy(body: PolicyIn, actor: Actor) -> JSON:
        return version_json(
            policy_admin.upload(app.uow(), env, actor=actor, document=body.document)
        )

    @routes.post("/policy/versions/{version}/backtest")
    def backtest(version: str, actor: Actor) -> JSON:
        result = policy_admin.backtest(app.uow(), env, actor=actor, version=version)
        return {
            "version": result.version,
            "compared": result.compared,
            "changed": [
                {
                    "request_id": c.request_id,
                    "old_outcome": c.old_outcome,
                    "new_outcome": c.new_outcome,
                }
                for c in result.changed
            ],
        }

    @routes.post("/policy/versions/{version}/approvals")
    def activate(version: str, body: CommentIn, actor: Actor) -> JSON:
        return version_json(
            policy_admin.approve(app.uow(), env, actor=actor, version=version, comment=body.comment)
        )

    @routes.post("/requests/{request_id}/break-glass", status_code=201)
    def use_break_glass(request_id: str, body: BreakGlassIn, actor: Actor) -> JSON:
        request, record = break_glass.break_glass(
            app.uow(),
            env,
            actor=actor,
            request_id=request_id,
            justification=body.justification,
            state_digest=body.state_digest,
        )
        return break_glass_json(record) | {"request_status": request.status}

    @routes.post("/break-glass/{break_glass_id}/review")
    def review_break_glass(break_glass_id: str, body: BreakGlassReviewIn, actor: Actor) -> JSON:
        return break_glass_json(
            break_glass.review_use(
                app.uow(),
                env,
                actor=actor,
                break_glass_id=break_glass_id,
                verdict=body.verdict,
                comment=body.comment,
            )
        )

    @routes.get("/break-glass")
    def list_break_glass(actor: Actor, open: bool = False) -> JSON:
        items = break_glass.list_uses(app.uow(readonly=True), env, actor=actor, open_only=open)
        return {"items": [break_glass_json(b) for b in items]}

    @routes.get("/alerts")
    def list_alerts(
        actor: Actor,
        limit: Annotated[int, Query(ge=1, le=alerts.ALERTS_MAX)] = 100,
        unacknowledged: bool = False,
    ) -> JSON:
        items = alerts.list_alerts(
            app.uow(readonly=True), env, actor=actor, limit=limit, unacknowledged=unacknowledged
        )
        return {
            "items": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "severity": a.severity,
                    "subject": a.subject,
                    "request_id": a.request_id,
                    "data": a.data,
                    "created_at": a.created_at.isoformat(),
                    "acknowledged_by": a.acknowledged_by,
                }
                for a in items
            ]
        }

    return routes
