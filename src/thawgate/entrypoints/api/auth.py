"""The one way every router authenticates a call: `Authorization: Bearer <token>`."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Header

from thawgate.bootstrap import App
from thawgate.domain.model import Principal
from thawgate.services import identity


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def principal_dependency(app: App) -> Callable[..., Principal]:
    """A FastAPI dependency giving the authenticated principal (401 otherwise)."""

    def principal(authorization: Annotated[str | None, Header()] = None) -> Principal:
        return identity.authenticate(app.uow(readonly=True), app.env, bearer_token(authorization))

    return principal
