"""Checkpoints of the audit log, in C2SP form. Pure standard library: signing happens elsewhere.

- The checkpoint body (C2SP tlog-checkpoint): `"<origin>\\n<size>\\n<base64 root>\\n"`.
- The signed note (C2SP signed-note): the body, a blank line, then one line per signature,
  `"\\u2014 <key name> <base64(key id || signature)>\\n"`.
- An Ed25519 key's id is the first 4 bytes of `SHA-256(<key name> || 0x0A || 0x01 || <32-byte
  public key>)`, and its verifier key is `"<key name>+<hex key id>+<base64(0x01 || key)>"`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

ED25519_ALGORITHM = 0x01
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4
ROOT_SIZE = 32
EM_DASH = "\u2014"

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


class MalformedCheckpoint(ValueError):
    """A checkpoint body or signed note that does not parse."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes

    def __post_init__(self) -> None:
        check_key_name(self.origin, what="origin")
        if self.size < 0:
            raise MalformedCheckpoint("a checkpoint's size cannot be negative")
        if len(self.root_hash) != ROOT_SIZE:
            raise MalformedCheckpoint(f"a root hash is {ROOT_SIZE} bytes")

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{_b64(self.root_hash)}\n"


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint as stored and served: the signed note, and its parts beside it."""

    origin: str
    size: int
    root_hash: bytes
    key_id: str  # hex of the 4-byte key id
    signature: bytes  # the raw Ed25519 signature over the body
    note: str  # the C2SP signed note: body, blank line, signature line
    at: datetime


@dataclass(frozen=True, slots=True)
class NoteSignature:
    key_name: str
    key_id: bytes  # 4 bytes
    signature: bytes  # 64 bytes for Ed25519


def check_key_name(name: str, *, what: str = "key name") -> None:
    """Origins and key names: non-empty, printable, no whitespace and no '+'."""
    if not name or "+" in name or any(c.isspace() or not c.isprintable() for c in name):
        raise MalformedCheckpoint(f"{what} {name!r}: non-empty, no spaces, no '+'")


def key_id(key_name: str, public_key: bytes) -> bytes:
    check_key_name(key_name)
    if len(public_key) != ED25519_KEY_SIZE:
        raise MalformedCheckpoint(f"an Ed25519 public key is {ED25519_KEY_SIZE} bytes")
    material = key_name.encode() + b"\n" + bytes([ED25519_ALGORITHM]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def verifier_key(key_name: str, public_key: bytes) -> str:
    kid = key_id(key_name, public_key).hex()
    return f"{key_name}+{kid}+{_b64(bytes([ED25519_ALGORITHM]) + public_key)}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    """`name+hexid+base64(0x01 || key)` -> (name, public key), checking the id."""
    name, _, rest = vkey.partition("+")
    kid, _, material = rest.partition("+")
    raw = _unb64(material, what="verifier key")
    if len(raw) != 1 + ED25519_KEY_SIZE or raw[0] != ED25519_ALGORITHM:
        raise MalformedCheckpoint("verifier key: not an Ed25519 key")
    public_key = raw[1:]
    if key_id(name, public_key).hex() != kid:
        raise MalformedCheckpoint("verifier key: its key id does not match its key")
    return name, public_key


def signed_note(body: str, signatures: list[NoteSignature]) -> str:
    if not signatures:
        raise MalformedCheckpoint("a signed note carries at least one signature")
    lines = [f"{EM_DASH} {s.key_name} {_b64(s.key_id + s.signature)}\n" for s in signatures]
    return body + "\n" + "".join(lines)


def parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise MalformedCheckpoint("a checkpoint body is three lines, each ending in a newline")
    origin, size, root = lines[:3]
    if not _DECIMAL.fullmatch(size):
        raise MalformedCheckpoint(f"tree size {size!r}: not a decimal number")
    return Checkpoint(origin=origin, size=int(size), root_hash=_unb64(root, what="root hash"))


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """A signed note -> (its text, its signatures). The text is what the signatures sign."""
    text, sep, tail = note.rpartition("\n\n")
    if not sep or not tail.endswith("\n"):
        raise MalformedCheckpoint("a signed note is its text, a blank line, and signature lines")
    signatures = [_parse_signature_line(line) for line in tail[:-1].split("\n")]
    return text + "\n", signatures


def _parse_signature_line(line: str) -> NoteSignature:
    dash, _, rest = line.partition(" ")
    name, _, blob = rest.partition(" ")
    if dash != EM_DASH or not blob:
        raise MalformedCheckpoint(f"signature line {line!r}: not '\u2014 <name> <signature>'")
    check_key_name(name)
    raw = _unb64(blob, what="signature")
    if len(raw) <= KEY_ID_SIZE:
        raise MalformedCheckpoint("signature line: too short")
    return NoteSignature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, *, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise MalformedCheckpoint(f"{what}: not base64") from None
    if _b64(raw) != text:
        raise MalformedCheckpoint(f"{what}: not canonical base64")
    return raw


def checkpoint_to_json(cp: SignedCheckpoint) -> dict[str, object]:
    """The JSON form served by the API and written to the witness file and exports."""
    return {
        "origin": cp.origin,
        "size": cp.size,
        "root_hash": cp.root_hash.hex(),
        "signature": _b64(cp.signature),
        "key_id": cp.key_id,
        "note": cp.note,
        "at": cp.at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
    }


def checkpoint_from_json(obj: object) -> SignedCheckpoint:
    if not isinstance(obj, dict):
        raise MalformedCheckpoint("a checkpoint is a JSON object")
    try:
        size, at = obj["size"], datetime.fromisoformat(str(obj["at"]))
        if not isinstance(size, int) or isinstance(size, bool):
            raise MalformedCheckpoint("size: not an integer")
        return SignedCheckpoint(
            origin=str(obj["origin"]),
            size=size,
            root_hash=bytes.fromhex(str(obj["root_hash"])),
            key_id=str(obj["key_id"]),
            signature=_unb64(str(obj["signature"]), what="signature"),
            note=str(obj["note"]),
            at=at if at.tzinfo else at.replace(tzinfo=UTC),
        )
    except KeyError as exc:
        raise MalformedCheckpoint(f"missing field {exc.args[0]}") from None
