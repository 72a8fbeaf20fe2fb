"""Reads, each behind the same authorization as the changes."""

from __future__ import annotations

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import NotFound
from thawgate.domain.model import Account, Principal
from thawgate.domain.request import Request
from thawgate.policy.authz import AccountResource, RequestResource, SystemResource
from thawgate.services.env import Env, authorize

LIST_MAX = 200


def get_request(uow: UnitOfWork, env: Env, *, actor: Principal, request_id: str) -> Request:
    with uow:
        request = uow.requests.get(request_id)
        if request is None:
            raise NotFound(f"no request {request_id}")
        authorize(
            uow,
            env,
            principal=actor,
            action="read_request",
            subject=f"request:{request_id}",
            resource=RequestResource(
                id=request.id,
                requester=request.requester,
                account_id=request.account_id,
                kind=request.kind,
                reasons=frozenset(),
                binding_types=frozenset(),
                clause_roles=frozenset(),
            ),
        )
        return request


def authorize_list(uow: UnitOfWork, env: Env, actor: Principal) -> None:
    """`list_requests`, in the caller's open unit of work (the API's list, the console's queue)."""
    authorize(
        uow,
        env,
        principal=actor,
        action="list_requests",
        subject="requests",
        resource=SystemResource(name="requests"),
    )


def only_own(actor: Principal) -> bool:
    """A principal who only requests sees only their own requests."""
    return actor.roles <= {"requester", "self_service"}


def list_requests(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    status: str | None,
    account_id: str | None,
    limit: int,
    after: tuple[str, str] | None,
) -> list[Request]:
    """A requester who only requests sees only their own requests."""
    from datetime import datetime

    with uow:
        authorize_list(uow, env, actor)
        cursor = None if after is None else (datetime.fromisoformat(after[0]), after[1])
        return uow.requests.search(
            status=status,
            account_id=account_id,
            requester=actor.id if only_own(actor) else None,
            limit=min(max(limit, 1), LIST_MAX),
            after=cursor,
        )


def get_account(uow: UnitOfWork, env: Env, *, actor: Principal, account_id: str) -> Account:
    with uow:
        account = uow.accounts.get(account_id)
        if account is None:
            raise NotFound(f"no account {account_id}")
        authorize(
            uow,
            env,
            principal=actor,
            action="read_account",
            subject=f"account:{account_id}",
            resource=AccountResource(
                id=account_id, requesters=uow.requests.requesters_of_account(account_id)
            ),
        )
        return account
