"""The witness file: every checkpoint, one JSON line each, appended to a file outside the
database. It stands in for an external witness: someone who can rewrite the database still cannot
make the checkpoints already handed out disappear."""

from __future__ import annotations

import json
import os
from pathlib import Path

from thawgate.domain.checkpoint import (
    MalformedCheckpoint,
    SignedCheckpoint,
    checkpoint_from_json,
    checkpoint_to_json,
)


class WitnessFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, checkpoint: SignedCheckpoint) -> None:
        """One line, in one write to a file opened for appending, then flushed to disk."""
        line = json.dumps(checkpoint_to_json(checkpoint), sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def exists(self) -> bool:
        return self.path.is_file()

    def lines(self) -> list[str]:
        if not self.path.is_file():
            return []
        return self.path.read_text(encoding="utf-8").splitlines()

    def read(self) -> tuple[list[SignedCheckpoint], list[str]]:
        """The checkpoints, and a message for each line that is not one."""
        return parse_lines(self.lines(), str(self.path))


def parse_lines(lines: list[str], name: str) -> tuple[list[SignedCheckpoint], list[str]]:
    checkpoints: list[SignedCheckpoint] = []
    errors: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            checkpoints.append(checkpoint_from_json(json.loads(line)))
        except (ValueError, MalformedCheckpoint) as exc:
            errors.append(f"{name} line {number}: not a checkpoint: {exc}")
    return checkpoints, errors
