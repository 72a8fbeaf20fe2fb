"""The operator CLI as an operator runs it: exit codes and one readable line on errors."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.e2e.conftest import THAWGATE

pytestmark = pytest.mark.e2e


def _run(
    tmp: Path, *args: str, stdin: str = "", database: str | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "THAWGATE_DATABASE_URL": database or f"sqlite:///{tmp / 'cli.db'}"}
    env.update(settings)
    return subprocess.run(  # noqa: S603  # our own CLI with fixed arguments
        [str(THAWGATE), *args],
        env=env,
        cwd=tmp,  # the dev audit key and witness file land here, not in the repository
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    assert _run(tmp, "init").returncode == 0
    world = tmp / "world.yaml"
    world.write_text(
        "principals:\n"
        "  - {id: alice, name: Alice Chen, team: customer_support, roles: [requester]}\n"
        "accounts:\n"
        "  - id: '10001'\n"
        "    created_at: 2024-01-05T00:00:00Z\n"
        "    restrictions:\n"
        "      - {id: r-1, scope: withdraw, reason: ATO_SUSPECTED, placed_by: alice,"
        " placed_at: 2026-11-20T10:00:00Z}\n"
    )
    loaded = _run(tmp, "load", str(world))
    assert loaded.returncode == 0, loaded.stderr
    assert "1 accounts" in loaded.stdout
    return tmp


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    return lines[0]


def test_load_is_idempotent(home: Path) -> None:
    again = _run(home, "load", str(home / "world.yaml"))
    assert again.returncode == 0
    assert "0 accounts" in again.stdout


def test_a_bad_load_entry_is_named_and_nothing_is_written(home: Path) -> None:
    bad = home / "bad.yaml"
    bad.write_text(
        "accounts:\n  - {id: '2', created_at: 2024-01-05T00:00:00Z,"
        " restrictions: [{id: r-9, scope: moon, reason: ATO_SUSPECTED,"
        " placed_by: alice, placed_at: 2026-11-20T10:00:00Z}]}\n"
    )
    line = _one_line_error(_run(home, "load", str(bad)))
    assert "accounts[2].restrictions[0].scope" in line
    assert _run(home, "load", str(home / "world.yaml")).stdout.count("0 accounts") == 1


def test_a_misspelt_key_is_named_and_the_rest_loads(home: Path) -> None:
    typo = home / "typo.yaml"
    typo.write_text(
        "accounts:\n  - {id: '3', created_at: 2024-01-05T00:00:00Z,"
        " restrictions: [{id: r-3, scope: withdraw, reason: ATO_SUSPECTED,"
        " placed_by: alice, placed_at: 2026-11-20T10:00:00Z,"
        " expires_a: 2026-12-20T10:00:00Z}]}\n"
        "principal: []\n"
    )
    loaded = _run(home, "load", str(typo))
    assert loaded.returncode == 0, loaded.stderr
    assert "1 accounts, 1 restrictions" in loaded.stdout
    assert loaded.stderr.splitlines() == [
        "warning: unknown key ignored: principal (at the top)",
        "warning: unknown key ignored: accounts[3].restrictions[0]: expires_a",
    ]


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("THAWGATE_MODE", "prod", "THAWGATE_MODE: Input should be 'development' or 'production'"),
        ("THAWGATE_WORKER_BATCH", "lots", "THAWGATE_WORKER_BATCH: Input should be a valid integer"),
        ("THAWGATE_LOG_LEVEL", "loud", "THAWGATE_LOG_LEVEL: 'loud' is not one of DEBUG"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    home: Path, setting: str, value: str, says: str
) -> None:
    for command in (["jobs", "failed"], ["init"]):
        line = _one_line_error(_run(home, *command, **{setting: value}))
        assert says in line


def test_invalid_yaml_is_one_line(home: Path) -> None:
    bad = home / "broken.yaml"
    bad.write_text("accounts: [\n")
    assert "not valid YAML" in _one_line_error(_run(home, "load", str(bad)))


def test_token_issue_prints_one_token(home: Path) -> None:
    result = _run(home, "token", "issue", "alice", "--ttl", "30m")
    assert result.returncode == 0
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("tg_")
    assert "unknown" not in result.stderr


def test_token_for_an_unknown_principal_fails(home: Path) -> None:
    assert "no principal ghost" in _one_line_error(_run(home, "token", "issue", "ghost"))
    assert "ttl" in _one_line_error(_run(home, "token", "issue", "alice", "--ttl", "soon"))


def test_password_set_reads_stdin(home: Path) -> None:
    ok = _run(home, "password", "set", "alice", stdin="a long enough secret\n")
    assert ok.returncode == 0
    assert "12 characters" in _one_line_error(
        _run(home, "password", "set", "alice", stdin="short\n")
    )


def test_policy_check_passes_on_the_shipped_pack(home: Path) -> None:
    result = _run(home, "policy", "check")
    assert result.returncode == 0, result.stderr
    assert "every policy test passes" in result.stdout


def test_jobs_failed_lists_nothing_on_a_fresh_database(home: Path) -> None:
    result = _run(home, "jobs", "failed")
    assert result.returncode == 0
    assert "no failed jobs" in result.stdout


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    line = _one_line_error(_run(tmp_path, "token", "issue", "alice"))
    assert "thawgate init" in line


def test_loading_a_missing_file_is_one_line(home: Path) -> None:
    result = _run(home, "load", str(home / "nowhere.yaml"))
    assert "nowhere.yaml" in _one_line_error(result)
    assert result.returncode == 2


def test_a_ttl_beyond_the_calendar_is_one_line(home: Path) -> None:
    for ttl in ("99999999999d", "9999999d"):
        assert "ttl" in _one_line_error(_run(home, "token", "issue", "alice", "--ttl", ttl))


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1"])
def test_serve_refuses_a_port_out_of_range(home: Path, port: str) -> None:
    """`--port 99999` used to listen on 34463 (99999 mod 65536) without a word."""
    result = _run(home, "serve", "--no-worker", "--port", port)
    assert "port" in _one_line_error(result)


@pytest.mark.parametrize(
    "database",
    ["postgresql+psycopg://nobody@127.0.0.1:1/none", "nonsense://x", "sqlite:////no/such/dir/x.db"],
)
def test_a_database_that_cannot_be_used_is_one_line(tmp_path: Path, database: str) -> None:
    for command in (["init"], ["token", "issue", "alice"]):
        line = _one_line_error(_run(tmp_path, *command, database=database))
        assert "database" in line.lower()
