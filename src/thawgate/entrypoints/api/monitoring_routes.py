"""Post-thaw monitoring: `GET /v1/monitoring/bad-thaws` (docs/risk.md, "Post-thaw monitoring")."""
# No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel

from thawgate.bootstrap import App
from thawgate.domain.model import Principal
from thawgate.entrypoints.api.auth import principal_dependency
from thawgate.services import monitoring

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


class PrincipalCount(BaseModel):
    principal: str
    bad_thaws: int


class RuleCount(BaseModel):
    rule: str
    hits: int


class BadThawsOut(BaseModel):
    since: AwareDatetime | None
    bad_thaws: int
    per_requester: list[PrincipalCount]
    per_approver: list[PrincipalCount]
    per_rule: list[RuleCount]


def router(app: App) -> APIRouter:
    routes = APIRouter(tags=["monitoring"])
    env = app.env

    Actor = Annotated[Principal, Depends(principal_dependency(app))]

    @routes.get(
        "/monitoring/bad-thaws",
        response_model=BadThawsOut,
        responses={
            401: PROBLEM | {"description": "unauthenticated"},
            403: PROBLEM | {"description": "forbidden"},
            422: PROBLEM | {"description": "validation"},
        },
    )
    def bad_thaws(
        actor: Actor,
        since: Annotated[
            AwareDatetime | None, Query(description="count hits detected at or after this")
        ] = None,
    ) -> BadThawsOut:
        """Bad thaws (executed requests with a post-thaw monitoring hit) per requester and per
        approver, and hits per monitoring rule. Reviewer roles and auditors."""
        counts = monitoring.read_bad_thaw_counts(
            app.uow(readonly=True), env, actor=actor, since=since
        )
        return BadThawsOut(
            since=counts.since,
            bad_thaws=counts.bad_thaws,
            per_requester=[
                PrincipalCount(principal=k, bad_thaws=n) for k, n in counts.per_requester
            ],
            per_approver=[PrincipalCount(principal=k, bad_thaws=n) for k, n in counts.per_approver],
            per_rule=[RuleCount(rule=k, hits=n) for k, n in counts.per_rule],
        )

    return routes
