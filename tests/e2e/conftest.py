"""End-to-end fixtures: the real `thawgate serve` over HTTP, on a database of its own.

One server per test session. SQLite by default (a file in a temporary directory); with
THAWGATE_TEST_DATABASE=postgres, a fresh schema `e2e_<random>` in the database named by
THAWGATE_TEST_POSTGRES_URL, dropped at teardown. The world (principals and accounts) is written
relative to now, loaded with `thawgate load`, and every principal gets a token from
`thawgate token issue`. Each scenario works on accounts of its own, so tests don't interfere.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

THAWGATE = Path(sys.executable).parent / "thawgate"
ON_POSTGRES = os.environ.get("THAWGATE_TEST_DATABASE") == "postgres"
PROBLEM_JSON = "application/problem+json"
PROBLEM = "urn:thawgate:problem:"
STARTUP_SECONDS = 30.0
EXECUTION_SECONDS = 15.0

# id, team, roles. Only those with a token issued are used over HTTP; sec-bot only places.
PRINCIPALS: list[tuple[str, str, list[str]]] = [
    ("alice", "customer_support", ["requester"]),
    ("lena", "legal", ["requester"]),
    ("leo", "legal", ["legal_reviewer"]),
    ("lia", "legal", ["legal_reviewer"]),
    ("lars", "legal", ["senior_fraud_reviewer"]),
    ("fay", "fraud_risk", ["fraud_reviewer"]),
    ("finn", "fraud_risk", ["fraud_reviewer"]),
    ("sam", "fraud_risk", ["fraud_reviewer", "senior_fraud_reviewer"]),
    ("rita", "fraud_risk", ["requester", "fraud_reviewer"]),
    ("pete", "security", ["restriction_placer", "fraud_reviewer"]),
    ("app", "customer_support", ["self_service"]),
    ("sec-bot", "security", ["restriction_placer"]),
    ("events", "security", ["event_ingestor"]),
    ("audra", "compliance", ["auditor"]),
]
WITH_TOKENS = [pid for pid, _, _ in PRINCIPALS if pid != "sec-bot"]

# Accounts: id -> (restrictions [(id, scope, reason)], bindings [(id, type)]).
# Every restriction was placed two days ago by sec-bot, so none counts as a fresh freeze.
ACCOUNTS: dict[str, tuple[list[tuple[str, str, str]], list[tuple[str, str]]]] = {
    "ato-1": ([("r-ato-1", "withdraw", "ATO_SUSPECTED")], []),
    "legal-1": ([("r-legal-1", "full", "LAW_ENFORCEMENT")], []),
    "sanc-1": ([("r-sanc-1", "full", "SANCTIONS_HIT")], []),
    "selfappr-1": ([("r-selfappr-1", "withdraw", "ATO_SUSPECTED")], []),
    "placer-1": ([], []),
    "self-1": ([("r-self-1", "trade", "USER_SELF_FREEZE")], []),
    "self-2": ([("r-self-2", "trade", "USER_SELF_FREEZE")], []),
    "idem-1": ([("r-idem-1", "withdraw", "ATO_SUSPECTED")], []),
    **{f"race-{n}": ([(f"r-race-{n}", "withdraw", "ATO_SUSPECTED")], []) for n in (1, 2, 3)},
    "dup-1": ([("r-dup-1", "login", "ATO_SUSPECTED")], []),
    "bad-1": ([("r-bad-1", "withdraw", "ATO_SUSPECTED")], [("b-bad-1", "TOTP")]),
    "bad-2": ([("r-bad-2", "withdraw", "ATO_SUSPECTED")], []),
    "lifted-1": ([("r-lifted-1", "withdraw", "ATO_SUSPECTED")], []),
    "totp-1": ([], [("b-totp-1", "TOTP")]),
    "stale-1": ([("r-stale-1", "withdraw", "ATO_SUSPECTED")], []),
    "stale-2": ([("r-stale-2", "withdraw", "LAW_ENFORCEMENT")], []),
    "stale-3": ([("r-stale-3", "withdraw", "ATO_SUSPECTED")], []),
    "watch-1": ([("r-watch-1", "withdraw", "ATO_SUSPECTED")], []),
    "watch-2": ([], []),
}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def world(now: datetime) -> dict[str, Any]:
    """Year-old, quiet accounts: each logs in from its own device and IP, so none is linked to
    another and every risk score is 0 unless a test makes it otherwise."""
    accounts = []
    for n, (aid, (restrictions, bindings)) in enumerate(ACCOUNTS.items(), start=1):
        accounts.append(
            {
                "id": aid,
                "created_at": iso(now - timedelta(days=400)),
                "restrictions": [
                    {
                        "id": rid,
                        "scope": scope,
                        "reason": reason,
                        "placed_by": "sec-bot",
                        "placed_at": iso(now - timedelta(days=2)),
                    }
                    for rid, scope, reason in restrictions
                ],
                "bindings": [
                    {"id": bid, "type": btype, "bound_at": iso(now - timedelta(days=300))}
                    for bid, btype in bindings
                ],
                "events": [
                    {
                        "type": "login",
                        "at": iso(now - timedelta(days=days)),
                        "ip": f"198.51.100.{n}",
                        "country": "DE",
                        "device": f"d-{aid}",
                    }
                    for days in (200, 60, 10, 3)
                ],
            }
        )
    return {
        "principals": [
            {"id": pid, "name": pid.title(), "team": team, "roles": roles}
            for pid, team, roles in PRINCIPALS
        ],
        "accounts": accounts,
    }


# --------------------------------------------------------------------------- the database


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'thawgate.db'}"
        return
    base = os.environ.get("THAWGATE_TEST_POSTGRES_URL")
    if not base:
        pytest.fail("THAWGATE_TEST_DATABASE=postgres needs THAWGATE_TEST_POSTGRES_URL")
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


# --------------------------------------------------------------------------- the server


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603  # our own CLI, arguments from this file
        [str(THAWGATE), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        pytest.fail(f"thawgate {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


@dataclass
class Server:
    base_url: str
    tokens: dict[str, str]
    log: Path


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("e2e-server")
    env = {**os.environ, "THAWGATE_DATABASE_URL": database_url}
    _cli(env, workdir, "init")
    world_file = workdir / "world.yaml"
    world_file.write_text(yaml.safe_dump(world(datetime.now(UTC)), sort_keys=False))
    _cli(env, workdir, "load", str(world_file))
    with ThreadPoolExecutor(max_workers=len(WITH_TOKENS)) as pool:
        issued = pool.map(lambda pid: _cli(env, workdir, "token", "issue", pid), WITH_TOKENS)
        tokens = {pid: out.strip() for pid, out in zip(WITH_TOKENS, issued, strict=True)}
    assert all(t and "\n" not in t for t in tokens.values()), tokens

    port = _free_port()
    log = workdir / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(  # noqa: S603  # our own CLI
            [str(THAWGATE), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, base_url, log)
        yield Server(base_url=base_url, tokens=tokens, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_healthy(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"thawgate serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"thawgate serve did not answer /healthz in {STARTUP_SECONDS}s:\n{log.read_text()}")


# --------------------------------------------------------------------------- clients and helpers


def evidence(kind: str, *, ago: timedelta = timedelta(minutes=30)) -> dict[str, str]:
    return {
        "type": kind,
        "reference": f"case-{uuid.uuid4().hex[:8]}",
        "observed_at": iso(datetime.now(UTC) - ago),
    }


def thaw(account_id: str, *targets: str, proof: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "kind": "thaw",
        "account_id": account_id,
        "targets": list(targets),
        "justification": "customer verified; restriction no longer needed",
        "evidence": proof,
        "ticket": f"CRM-{uuid.uuid4().hex[:6]}",
    }


def assert_problem(resp: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """An RFC 9457 problem with this status and slug. Returns the body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM_JSON), resp.headers
    body: dict[str, Any] = resp.json()
    assert body["type"] == PROBLEM + slug, body
    assert body["status"] == status, body
    assert body["title"], body
    assert isinstance(body["detail"], str), body
    return body


@dataclass
class Gate:
    """HTTP clients per principal, and the few calls every scenario makes."""

    server: Server
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    # The body builders and the problem check, handed to tests with the fixture.
    evidence = staticmethod(evidence)
    thaw = staticmethod(thaw)
    problem = staticmethod(assert_problem)

    def __call__(self, principal: str) -> httpx.Client:
        if principal not in self.clients:
            headers = {}
            if principal in self.server.tokens:
                headers["Authorization"] = f"Bearer {self.server.tokens[principal]}"
            self.clients[principal] = httpx.Client(
                base_url=self.server.base_url, headers=headers, timeout=30
            )
        return self.clients[principal]

    def close(self) -> None:
        for c in self.clients.values():
            c.close()

    def submit(self, principal: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        return self(principal).post("/v1/requests", json=body, headers=headers)

    def submitted(self, principal: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.submit(principal, body)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def approve(
        self, principal: str, request: dict[str, Any], *, digest: str | None = None
    ) -> httpx.Response:
        body = {
            "comment": f"reviewed by {principal}",
            "state_digest": digest if digest is not None else request["state_digest"],
        }
        return self(principal).post(f"/v1/requests/{request['id']}/approvals", json=body)

    def request(self, request_id: str, *, reader: str = "fay") -> dict[str, Any]:
        resp = self(reader).get(f"/v1/requests/{request_id}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def requests_on(self, account_id: str, *, reader: str = "fay") -> list[dict[str, Any]]:
        resp = self(reader).get("/v1/requests", params={"account_id": account_id, "limit": 200})
        assert resp.status_code == 200, resp.text
        return list(resp.json()["items"])

    def account(self, account_id: str, *, reader: str = "fay") -> dict[str, Any]:
        resp = self(reader).get(f"/v1/accounts/{account_id}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def restriction(self, account_id: str, restriction_id: str) -> dict[str, Any]:
        found = [r for r in self.account(account_id)["restrictions"] if r["id"] == restriction_id]
        assert len(found) == 1, found
        return dict(found[0])

    def wait_for(
        self,
        request_id: str,
        status: str,
        *,
        reader: str = "fay",
        timeout: float = EXECUTION_SECONDS,
    ) -> dict[str, Any]:
        """Poll until the request reaches `status`; fail fast if it settles elsewhere."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.request(request_id, reader=reader)
            if current["status"] == status:
                return current
            if current["status"] not in ("approved", "pending_approval"):
                pytest.fail(f"request {request_id} settled as {current['status']}: {current}")
            if time.monotonic() > deadline:
                pytest.fail(f"request {request_id} still {current['status']} after {timeout}s")
            time.sleep(0.1)

    def thaw_to_executed(self, account_id: str, restriction_id: str) -> dict[str, Any]:
        """The plain ATO path, start to finish: alice asks, fay approves, the worker lifts."""
        request = self.submitted(
            "alice", thaw(account_id, restriction_id, proof=[evidence("KYC_LIVENESS_PASS")])
        )
        assert request["status"] == "pending_approval", request
        resp = self.approve("fay", request)
        assert resp.status_code == 201, resp.text
        return self.wait_for(request["id"], "executed")


@pytest.fixture(scope="session")
def gate(server: Server) -> Iterator[Gate]:
    g = Gate(server)
    yield g
    g.close()


@pytest.fixture
def anonymous(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c
