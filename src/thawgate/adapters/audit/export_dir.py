"""An export of the audit log: a directory an auditor verifies with no database (docs/audit.md).

- `events.jsonl`: one event a line, each line exactly the JCS bytes of
  `{seq, at, actor, action, subject, data}`, so `leaf_hash = SHA-256(0x00 || line)`;
- `checkpoints.jsonl`: the database's signed checkpoints, one JSON object a line;
- `witness.jsonl`: a copy of the witness file (the checkpoints kept outside the database);
- `public_key.json`: `{origin, key_id, algorithm, public_key, verifier_key}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from thawgate.domain.checkpoint import SignedCheckpoint, checkpoint_to_json

EVENTS = "events.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
WITNESS = "witness.jsonl"
PUBLIC_KEY = "public_key.json"
_SEQ_KEY = b',"seq":'


class ExportError(ValueError):
    """The export directory cannot be written, or is not an export."""


class ExportWriter:
    def __init__(self, directory: Path) -> None:
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise ExportError(f"{directory}: exists and is not an empty directory")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._events = (directory / EVENTS).open("wb")
        self.events = 0

    def add_events(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            self._events.write(line + b"\n")
            self.events += 1

    def finish(
        self,
        *,
        checkpoints: list[SignedCheckpoint],
        witness_lines: list[str],
        public_key: dict[str, object],
    ) -> None:
        self._events.close()
        lines = [json.dumps(checkpoint_to_json(c), sort_keys=True) for c in checkpoints]
        _write_lines(self.directory / CHECKPOINTS, lines)
        _write_lines(self.directory / WITNESS, witness_lines)
        text = json.dumps(public_key, indent=2, sort_keys=True) + "\n"
        (self.directory / PUBLIC_KEY).write_text(text, encoding="utf-8")


class ExportReader:
    def __init__(self, directory: Path) -> None:
        missing = [n for n in (EVENTS, CHECKPOINTS, PUBLIC_KEY) if not (directory / n).is_file()]
        if missing:
            raise ExportError(f"{directory}: not an audit export (no {', '.join(missing)})")
        self.directory = directory

    def events(self) -> Iterator[tuple[int, bytes]]:
        """(the sequence number the line claims, or -1 if none, the line's bytes)."""
        with (self.directory / EVENTS).open("rb") as f:
            for raw in f:
                line = raw[:-1] if raw.endswith(b"\n") else raw
                yield _claimed_seq(line), line

    def checkpoint_lines(self) -> list[str]:
        return _read_lines(self.directory / CHECKPOINTS)

    def witness_lines(self) -> list[str]:
        path = self.directory / WITNESS
        return _read_lines(path) if path.is_file() else []

    def public_key(self) -> dict[str, object]:
        try:
            doc = json.loads((self.directory / PUBLIC_KEY).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ExportError(f"{PUBLIC_KEY}: not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ExportError(f"{PUBLIC_KEY}: not a JSON object")
        return doc


def _claimed_seq(line: bytes) -> int:
    """The top-level `seq` of a canonical event line, without parsing it all. In JCS the keys
    run action, actor, at, data, seq, subject, and `,"seq":` cannot occur inside a string, so its
    last occurrence is the top-level one (only the subject, a string, follows it)."""
    at = line.rfind(_SEQ_KEY)
    if at < 0:
        return -1
    start = at + len(_SEQ_KEY)
    end = line.find(b",", start)
    digits = line[start:end]
    return int(digits) if digits.isdigit() else -1


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
