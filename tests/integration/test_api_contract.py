"""Odd but plausible input on the routes API.md lists: each is a 4xx problem+json, never a 500.

Run on SQLite and on PostgreSQL (THAWGATE_TEST_DATABASE=postgres): several of these were 500s on
one database only (a column size, a NUL character, a 64-bit range).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.integration.conftest import Clock

from thawgate.bootstrap import App
from thawgate.entrypoints.api.app import create_app
from thawgate.services import identity, loader

PROBLEM_JSON = "application/problem+json"
# A time that is valid where it is written but beyond year 9999 in UTC.
BEYOND_UTC = "9999-12-31T23:59:59-12:00"


@pytest.fixture
def client(loaded: App) -> TestClient:
    loader.load_world(
        loaded.uow(),
        loaded.env,
        {
            "principals": [
                {"id": "audra", "team": "compliance", "roles": ["auditor"]},
                {"id": "ada", "team": "security", "roles": ["access_admin"]},
            ]
        },
    )
    return TestClient(create_app(loaded), raise_server_exceptions=False)


def bearer(app: App, pid: str) -> dict[str, str]:
    token = identity.issue_token(app.uow(), app.env, principal_id=pid, ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


def problem(response: httpx.Response, status: int, slug: str = "validation") -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:thawgate:problem:{slug}"
    assert body["status"] == status
    return body


def _event(**fields: object) -> list[dict[str, object]]:
    return [{"type": "withdrawal", "at": "2026-01-01T00:00:00Z", **fields}]


def test_a_time_beyond_the_utc_calendar_is_a_422(
    loaded: App, client: TestClient, clock: Clock
) -> None:
    placer, events, alice = (bearer(loaded, p) for p in ("placer", "events", "alice"))
    restriction = {"scope": "withdraw", "reason": "ATO_SUSPECTED", "expires_at": BEYOND_UTC}
    body = problem(
        client.post("/v1/accounts/A1/restrictions", headers=placer, json=restriction), 422
    )
    assert "expires_at" in body["detail"]
    body = problem(
        client.post("/v1/accounts/A1/events", headers=events, json=_event(at=BEYOND_UTC)), 422
    )
    assert "at" in body["detail"]
    request = {
        "kind": "thaw",
        "account_id": "A1",
        "targets": ["r-ato"],
        "justification": "verified",
        "evidence": [{"type": "KYC_LIVENESS_PASS", "reference": "k", "observed_at": BEYOND_UTC}],
    }
    body = problem(client.post("/v1/requests", headers=alice, json=request), 422)
    assert "observed_at" in body["detail"]


def test_audit_numbers_beyond_64_bits_are_a_422(loaded: App, client: TestClient) -> None:
    audra = bearer(loaded, "audra")
    for query in ("from_seq=9223372036854775808", "from_seq=99999999999999999999999"):
        body = problem(client.get(f"/v1/audit/events?{query}", headers=audra), 422)
        assert "from_seq" in body["detail"]
    assert client.get("/v1/audit/events?from_seq=9223372036854775807", headers=audra).json() == []


def test_a_consistency_proof_past_the_log_names_to(loaded: App, client: TestClient) -> None:
    audra = bearer(loaded, "audra")
    body = problem(client.get("/v1/audit/proof/consistency?from=1&to=999", headers=audra), 422)
    assert body["field"] == "to"
    assert body["detail"].startswith("to:")


@pytest.mark.parametrize(
    "inside", ["not-a-time|req_1", "2026-01-01T00:00:00|req_1", "|", f"{BEYOND_UTC}|req_1"]
)
def test_a_forged_cursor_is_a_422(loaded: App, client: TestClient, inside: str) -> None:
    cursor = base64.urlsafe_b64encode(inside.encode()).decode()
    response = client.get(f"/v1/requests?cursor={cursor}", headers=bearer(loaded, "fay"))
    assert problem(response, 422)["field"] == "cursor"


def test_listing_by_an_unknown_status_is_a_422_not_an_empty_list(
    loaded: App, client: TestClient
) -> None:
    fay = bearer(loaded, "fay")
    assert problem(client.get("/v1/requests?status=pending", headers=fay), 422)["field"] == "status"
    for status in ("pending_approval", "failed", "needs_info", "reverted"):
        assert client.get(f"/v1/requests?status={status}", headers=fay).status_code == 200


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"ip": "1" * 65}, "ip"),
        ({"device": "d" * 129}, "device"),
        ({"address": "a" * 257}, "address"),
        ({"country": "C" * 9}, "country"),
        ({"amount_usd": 10**40}, "amount_usd"),
        ({"amount_usd": "1e400"}, "amount_usd"),
        ({"amount_usd": "inf"}, "amount_usd"),
        ({"amount_usd": "a lot"}, "amount_usd"),
        ({"device": ["d-1"]}, "device"),
    ],
)
def test_event_fields_that_cannot_be_stored_are_a_422(
    loaded: App, client: TestClient, fields: dict[str, object], named: str
) -> None:
    response = client.post(
        "/v1/accounts/A1/events", headers=bearer(loaded, "events"), json=_event(**fields)
    )
    assert named in problem(response, 422)["detail"]


@pytest.mark.parametrize("field", ["device", "ip", "address", "country"])
def test_a_lone_surrogate_in_an_event_is_a_422(loaded: App, client: TestClient, field: str) -> None:
    """JSON's `\\ud800` escape decodes to text that no database can encode."""
    event = '{"type": "login", "at": "2026-01-01T00:00:00Z", "' + field + '": "\\ud800"}'
    content = f"[{event}]"
    response = client.post(
        "/v1/accounts/A1/events",
        headers=bearer(loaded, "events") | {"Content-Type": "application/json"},
        content=content.encode(),
    )
    assert field in problem(response, 422)["detail"]


def test_an_amount_may_be_a_json_number_as_in_the_load_file(
    loaded: App, client: TestClient
) -> None:
    events = bearer(loaded, "events")
    for amount in (12.5, 100, "250.00"):
        response = client.post(
            "/v1/accounts/A1/events", headers=events, json=_event(amount_usd=amount)
        )
        assert response.status_code == 202, response.text


def test_the_openapi_document_says_an_amount_may_be_a_number(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    kinds = {s.get("type") for s in schemas["EventIn"]["properties"]["amount_usd"]["anyOf"]}
    assert {"string", "number"} <= kinds


def test_the_openapi_document_gives_422_as_the_problem_json_it_is(client: TestClient) -> None:
    """A 422 is `application/problem+json` with `type`, `title`, `status`, `detail`; the document
    must not promise FastAPI's `{"detail": [...]}` instead."""
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answer = operation["responses"].get("422")
            if answer is None:
                continue
            assert set(answer["content"]) == {PROBLEM_JSON}, (method, path)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/accounts/A%001", None),
        ("GET", "/v1/requests/req%00", None),
        ("GET", "/v1/principals/al%00ice", None),
        (
            "POST",
            "/v1/accounts/A1/restrictions",
            {"scope": "full", "reason": "ATO_SUSPECTED", "note": "a\u0000b"},
        ),
        (
            "POST",
            "/v1/accounts/A1/events",
            [{"type": "login", "at": "2026-01-01T00:00:00Z", "device": "d\u0000"}],
        ),
    ],
)
def test_a_nul_character_is_never_a_500(
    loaded: App, client: TestClient, method: str, path: str, body: object
) -> None:
    """PostgreSQL refuses NUL in text; SQLite stores it. Either way the client gets a 4xx."""
    who = "events" if path.endswith("/events") else "placer" if "restrictions" in path else "ada"
    response = client.request(method, path, headers=bearer(loaded, who), json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


def test_a_grant_for_an_unknown_principal_is_a_422(
    loaded: App, client: TestClient, clock: Clock
) -> None:
    """API.md: `validation` (422) covers unknown ids in a body, as for a request's account."""
    grant = {
        "principal": "ghost",
        "role": "fraud_reviewer",
        "expires_at": (clock.now + timedelta(days=30)).isoformat(),
        "justification": "holiday cover",
    }
    body = problem(client.post("/v1/grants", headers=bearer(loaded, "ada"), json=grant), 422)
    assert body["field"] == "principal"
    assert "ghost" in body["detail"]


def test_liveness_and_readiness_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert "/readyz" not in client.get("/openapi.json").json()["paths"]  # operations, not API
