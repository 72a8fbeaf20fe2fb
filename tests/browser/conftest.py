"""Browser fixtures: the real `thawgate serve` and Debian's Chromium driven by Playwright.

One server per test session, on a SQLite file of its own, with a small world loaded by
`thawgate load` and console passwords set by `thawgate password set`. Screenshots go to
THAWGATE_SCREENSHOT_DIR (default: build/screenshots), the test artifacts; `make screenshots`
points it at docs/screenshots for the README.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Page, sync_playwright

THAWGATE = Path(sys.executable).parent / "thawgate"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("THAWGATE_SCREENSHOT_DIR", ROOT / "build" / "screenshots"))

PRINCIPALS: list[tuple[str, str, list[str]]] = [
    ("alice", "customer_support", ["requester"]),
    ("vic", "vip_desk", ["requester"]),
    ("fay", "fraud_risk", ["fraud_reviewer"]),
    ("finn", "fraud_risk", ["fraud_reviewer"]),
    ("audrey", "compliance", ["auditor"]),
    ("sec-bot", "security", ["restriction_placer"]),
]
LOGINS = ["alice", "vic", "fay", "finn", "audrey"]
# id -> (restriction id, reason); each account also has an authenticator binding.
ACCOUNTS = {f"acct-{n}": (f"r-ato-{n}", "ATO_SUSPECTED") for n in range(1, 7)}


def world(now: datetime) -> dict[str, Any]:
    def at(delta: timedelta) -> str:
        return (now - delta).isoformat()

    return {
        "principals": [
            {"id": pid, "name": pid.title(), "team": team, "roles": roles}
            for pid, team, roles in PRINCIPALS
        ],
        "accounts": [
            {
                "id": aid,
                "created_at": at(timedelta(days=400)),
                "restrictions": [
                    {
                        "id": rid,
                        "scope": "withdraw",
                        "reason": reason,
                        "placed_by": "sec-bot",
                        "placed_at": at(timedelta(days=2)),
                        "note": "customer reported a takeover",
                    }
                ],
                "bindings": [{"id": f"b-{aid}", "type": "TOTP", "bound_at": at(timedelta(300))}],
                "events": [
                    {
                        "type": "login",
                        "at": at(timedelta(days=d)),
                        "ip": f"198.51.100.{n}",
                        "country": "DE",
                        "device": f"d-{aid}",
                    }
                    for d in (200, 20, 3)
                ]
                # acct-1 and acct-3 were just logged into from a new device in a new country:
                # risk factors fire on their thaws, for the reviewer to see (acct-3 in Chinese).
                # Each from its own device and IP: a shared one would link the two accounts.
                + (
                    [
                        {
                            "type": "login",
                            "at": at(timedelta(hours=2)),
                            "ip": f"203.0.113.{n}",
                            "country": "BR",
                            "device": f"d-new-{aid}",
                        }
                    ]
                    if aid in ("acct-1", "acct-3")
                    else []
                ),
            }
            for n, (aid, (rid, reason)) in enumerate(ACCOUNTS.items(), start=1)
        ],
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603  # our own CLI, arguments from this file
        [str(THAWGATE), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )
    if done.returncode != 0:
        pytest.fail(f"thawgate {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


@dataclass
class Console:
    base_url: str
    log: Path
    env: dict[str, str]
    workdir: Path

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    workdir = tmp_path_factory.mktemp("console")
    env = {
        **os.environ,
        "THAWGATE_DATABASE_URL": f"sqlite:///{workdir / 'thawgate.db'}",
        "THAWGATE_CHECKPOINT_SECONDS": "0.2",
    }
    _cli(env, workdir, "init")
    (workdir / "world.yaml").write_text(yaml.safe_dump(world(datetime.now(UTC))))
    _cli(env, workdir, "load", "world.yaml")
    for pid in LOGINS:
        _cli(env, workdir, "password", "set", pid, stdin=PASSWORD + "\n")
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
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"thawgate serve exited: {log.read_text()}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail(f"thawgate serve did not start: {log.read_text()}")
        yield Console(base, log, env, workdir)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    context.close()


def login(page: Page, console: Console, who: str, password: str = PASSWORD) -> None:
    page.goto(console.url("/login"))
    page.fill("input[name=username]", who)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
