"""Principals and helpers for the central-authority tests."""

from __future__ import annotations

from datetime import timedelta

from thawgate.bootstrap import App
from thawgate.domain.grants import Grant
from thawgate.domain.model import Principal
from thawgate.services import grants, identity, loader

ADMINS = [
    {"id": "ada", "team": "security", "roles": ["access_admin"]},
    {"id": "abe", "team": "security", "roles": ["access_admin"]},
    {"id": "pia", "team": "fraud_risk", "roles": ["policy_admin"]},
    {"id": "pol", "team": "compliance", "roles": ["policy_admin"]},
    {"id": "newbie", "team": "fraud_risk", "roles": []},
    {"id": "audra", "team": "compliance", "roles": ["auditor"]},
]


def load_admins(app: App) -> None:
    loader.load_world(app.uow(), app.env, {"principals": ADMINS, "accounts": []})


def grant_role(
    app: App, principal: str, role: str, *, days: float = 30, by: str = "ada", second: str = "abe"
) -> Grant:
    g = grants.propose(
        app.uow(),
        app.env,
        actor=caller(app, by),
        principal_id=principal,
        role=role,
        expires_at=app.env.clock() + timedelta(days=days),
        justification="covering the weekend queue",
    )
    return grants.approve(
        app.uow(), app.env, actor=caller(app, second), grant_id=g.id, comment="ok"
    )


def caller(app: App, pid: str) -> Principal:
    """The principal exactly as the API sees it on its next call: through a bearer token."""
    token = identity.issue_token(app.uow(), app.env, principal_id=pid, ttl=timedelta(days=400))
    return identity.authenticate(app.uow(), app.env, token)
