"""Run the operator CLI in-process against a test's own database."""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from thawgate.bootstrap import App
from thawgate.entrypoints.cli import app as cli_app


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        """The one readable line a failing command prints."""
        assert self.code != 0, self.stdout
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("error:"), lines[0]
        return lines[0]


def thawgate(app: App, *args: str, stdin: str | None = None) -> Ran:
    env = {
        "THAWGATE_DATABASE_URL": app.settings.database_url,
        "THAWGATE_POLICY_DIR": str(app.settings.policy_dir),
        "THAWGATE_ALERT_WEBHOOK_URL": app.settings.alert_webhook_url,
    }
    result = CliRunner().invoke(cli_app, list(args), env=env, input=stdin, catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)
