"""The authorization matrix: every route x every role (and ownership), asserted from one table.

A cell is "allow" when the route gets past authorization (any answer but 401/403 `forbidden`),
"deny" when it answers 403 `forbidden`, "anon" when it answers 401. The table below is the
expectation; the test reports the number of cells and every mismatch (the target is 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from tests.integration.conftest import Clock, t
from tests.integration.helpers import submit

from thawgate.bootstrap import App
from thawgate.entrypoints.api.app import create_app
from thawgate.services import identity, loader

ROLES = [
    "requester",
    "restriction_placer",
    "fraud_reviewer",
    "senior_fraud_reviewer",
    "legal_reviewer",
    "compliance_reviewer",
    "policy_admin",
    "access_admin",
    "auditor",
    "system",
    "self_service",
    "event_ingestor",
]
STAFF = frozenset(ROLES) - {"requester", "self_service"}
FRAUD = frozenset({"fraud_reviewer", "senior_fraud_reviewer"})
AUDIT_READERS = FRAUD | {"auditor", "legal_reviewer", "compliance_reviewer"}


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # {account} and {request} are filled per cell
    allowed: frozenset[str]  # roles allowed on someone else's object
    own: frozenset[str] = frozenset()  # roles allowed on their own request
    body: dict[str, object] | None = None
    needs_request: bool = False


C = {"comment": "matrix"}
TABLE = [
    Route("read account", "GET", "/v1/accounts/{account}", STAFF, frozenset({"requester"})),
    Route(
        "place restriction",
        "POST",
        "/v1/accounts/{account}/restrictions",
        frozenset({"restriction_placer"}),
        body={"scope": "trade", "reason": "RISK_RULE_HIT"},
    ),
    Route(
        "ingest events",
        "POST",
        "/v1/accounts/{account}/events",
        frozenset({"event_ingestor"}),
        body=[],
    ),  # type: ignore[arg-type]
    Route("list requests", "GET", "/v1/requests", frozenset(ROLES)),
    Route(
        "read request",
        "GET",
        "/v1/requests/{request}",
        STAFF,
        frozenset({"requester"}),
        needs_request=True,
    ),
    Route("approve", "POST", "/v1/requests/{request}/approvals", FRAUD, body=C, needs_request=True),
    Route(
        "reject",
        "POST",
        "/v1/requests/{request}/rejections",
        FRAUD,
        FRAUD,
        body=C,
        needs_request=True,
    ),
    Route(
        "question",
        "POST",
        "/v1/requests/{request}/questions",
        FRAUD,
        FRAUD,
        body=C,
        needs_request=True,
    ),
    Route(
        "withdraw",
        "POST",
        "/v1/requests/{request}/withdrawal",
        frozenset(),
        frozenset({"requester"}),
        needs_request=True,
    ),
    Route(
        "revert",
        "POST",
        "/v1/requests/{request}/revert",
        frozenset({"senior_fraud_reviewer"}),
        body=C,
        needs_request=True,
    ),
    Route("read policy", "GET", "/v1/policy", frozenset(ROLES)),
    Route("read audit", "GET", "/v1/audit/events", AUDIT_READERS),
    Route(
        "read principal", "GET", "/v1/principals/m-victim", frozenset({"access_admin", "auditor"})
    ),
    Route(
        "propose grant",
        "POST",
        "/v1/grants",
        frozenset({"access_admin"}),
        body={
            "principal": "m-victim",
            "role": "system",
            "expires_at": "2099-01-01T00:00:00Z",
            "justification": "matrix",
        },
    ),
    Route(
        "approve grant", "POST", "/v1/grants/no-such/approvals", frozenset({"access_admin"}), body=C
    ),
    Route(
        "revoke grant", "POST", "/v1/grants/no-such/revocation", frozenset({"access_admin"}), body=C
    ),
    Route(
        "suspend", "POST", "/v1/principals/no-such/suspension", frozenset({"access_admin"}), body=C
    ),
    Route(
        "upload policy",
        "POST",
        "/v1/policy/versions",
        frozenset({"policy_admin"}),
        body={"document": "rules: 7"},
    ),
    Route("backtest", "POST", "/v1/policy/versions/no-such/backtest", frozenset({"policy_admin"})),
    Route(
        "activate policy",
        "POST",
        "/v1/policy/versions/no-such/approvals",
        frozenset({"policy_admin"}),
        body=C,
    ),
    Route(
        "read alerts",
        "GET",
        "/v1/alerts",
        frozenset({"auditor", "access_admin", "policy_admin", "senior_fraud_reviewer"}),
    ),
    Route("read bad thaws", "GET", "/v1/monitoring/bad-thaws", AUDIT_READERS),
    Route(
        "break glass",
        "POST",
        "/v1/requests/{request}/break-glass",
        frozenset({"senior_fraud_reviewer"}),
        body={"justification": "matrix: an emergency explained at length"},
        needs_request=True,
    ),
    Route(
        "review break-glass",
        "POST",
        "/v1/break-glass/no-such/review",
        frozenset({"senior_fraud_reviewer"}),
        body={"verdict": "upheld", "comment": "matrix"},
    ),
    Route(
        "read break-glass",
        "GET",
        "/v1/break-glass?open=true",
        frozenset({"senior_fraud_reviewer", "auditor", "access_admin"}),
    ),
]


def expected(route: Route, role: str | None, owner: bool) -> str:
    if role is None:
        return "anon"
    allowed = route.allowed | (route.own if owner else frozenset())
    return "allow" if role in allowed else "deny"


def observed(status: int, body: dict[str, object]) -> str:
    if status == 401:
        return "anon"
    if status == 403 and str(body.get("type", "")).endswith(":forbidden"):
        return "deny"
    return "allow"


def _world(clock: Clock, accounts: int) -> dict[str, object]:
    principals = [{"id": f"m-{r}", "team": "customer_support", "roles": [r]} for r in ROLES]
    principals.append({"id": "m-victim", "team": "customer_support", "roles": []})
    return {
        "principals": principals,
        "accounts": [
            {
                "id": f"MX-{n}",
                "created_at": t(clock, days=400),
                "events": [
                    {
                        "type": "login",
                        "at": t(clock, days=d),
                        "ip": f"10.9.{n % 250}.{d}",
                        "country": "DE",
                        "device": f"d-{n}",
                    }
                    for d in (300, 100, 30, 2)
                ],
                "restrictions": [
                    {
                        "id": f"rx-{n}",
                        "scope": "withdraw",
                        "reason": "ATO_SUSPECTED",
                        "placed_by": "sec-bot",
                        "placed_at": t(clock, days=5),
                    }
                ],
            }
            for n in range(accounts)
        ],
    }


def test_every_route_for_every_role(loaded: App, clock: Clock) -> None:
    cells = [
        (route, role, owner)
        for route in TABLE
        for role in [*ROLES, None]
        for owner in ((False, True) if role == "requester" and route.own else (False,))
    ]
    loader.load_world(loaded.uow(), loaded.env, _world(clock, len(cells)))
    tokens = {
        r: identity.issue_token(loaded.uow(), loaded.env, principal_id=f"m-{r}", ttl=timedelta(1))
        for r in ROLES
    }
    client = TestClient(create_app(loaded))
    mismatches = []
    for n, (route, role, owner) in enumerate(cells):
        account = f"MX-{n}"
        path = route.path.replace("{account}", account)
        if route.needs_request or (route.own and owner):
            requester = "m-requester" if owner else "alice"
            r = submit(loaded, requester, account, [f"rx-{n}"])
            assert r.status == "pending_approval", (r.status_reason, r.decision.risk)
            path = path.replace("{request}", r.id)
        headers = {} if role is None else {"Authorization": f"Bearer {tokens[role]}"}
        call: Callable[..., object] = getattr(client, route.method.lower())
        kwargs = {"headers": headers}
        if route.body is not None:
            kwargs["json"] = route.body
        response = call(path, **kwargs)
        got = observed(response.status_code, response.json())  # type: ignore[attr-defined]
        want = expected(route, role, owner)
        if got != want:
            mismatches.append(
                f"{route.name} as {role} ({'own' if owner else 'other'}): expected {want}, "
                f"got {got} ({response.status_code} {response.json()})"  # type: ignore[attr-defined]
            )
    print(f"authorization matrix: {len(cells)} cells, {len(mismatches)} mismatches")  # noqa: T201
    assert mismatches == [], "\n".join(mismatches)
    assert len(cells) >= len(TABLE) * len(ROLES)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
