"""THAWGATE_LOG_LEVEL filters the structured log lines (the worker's, the audit ticker's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from thawgate import bootstrap
from thawgate.config import Settings


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    bootstrap.configure_logging("INFO")


def test_lines_below_the_level_are_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap.configure_logging("warning")
    log = structlog.get_logger("thawgate.test")
    log.info("checkpoint signed", size=1)
    log.warning("database unavailable", worker="w1")
    printed = capsys.readouterr().out
    assert "database unavailable" in printed
    assert "checkpoint signed" not in printed


def test_an_unknown_level_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="THAWGATE_LOG_LEVEL: 'loud'"):
        Settings(log_level="loud").check()
