"""C2SP checkpoints and signed notes: the Go sumdb/note reference vector, the body format, and
strict parsing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from thawgate.domain import checkpoint as cp
from thawgate.domain.merkle import EMPTY_ROOT, leaf_hash

# golang.org/x/mod/sumdb/note's example: Ed25519 is deterministic, so the same key and text
# must give this note byte for byte, and then any Go-ecosystem verifier accepts our notes.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
    "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def go_key() -> Ed25519PrivateKey:
    seed = base64.b64decode(GO_SIGNER.split("+", 4)[4])
    assert seed[0] == cp.ED25519_ALGORITHM
    return Ed25519PrivateKey.from_private_bytes(seed[1:])


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def test_the_go_reference_note_is_reproduced_byte_for_byte() -> None:
    key = go_key()
    public = raw_public(key)
    assert cp.verifier_key("PeterNeumann", public) == GO_VERIFIER
    assert cp.key_id("PeterNeumann", public).hex() == "c74f20a3"
    signature = key.sign(GO_TEXT.encode())
    note = cp.signed_note(
        GO_TEXT, [cp.NoteSignature("PeterNeumann", cp.key_id("PeterNeumann", public), signature)]
    )
    assert note == GO_NOTE


def test_the_go_reference_note_parses_and_its_signature_verifies() -> None:
    text, signatures = cp.parse_note(GO_NOTE)
    assert text == GO_TEXT
    [sig] = signatures
    name, public = cp.parse_verifier_key(GO_VERIFIER)
    assert (sig.key_name, sig.key_id) == (name, cp.key_id(name, public))
    go_key().public_key().verify(sig.signature, text.encode())  # raises if not valid


def test_a_checkpoint_body_is_origin_size_and_base64_root() -> None:
    root = leaf_hash(b"x")
    body = cp.Checkpoint("example.com/log", 42, root).body()
    assert body == f"example.com/log\n42\n{base64.b64encode(root).decode()}\n"
    assert cp.parse_body(body) == cp.Checkpoint("example.com/log", 42, root)
    assert cp.Checkpoint("o", 0, EMPTY_ROOT).body() == (
        "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    )


@pytest.mark.parametrize(
    "body",
    [
        "origin\n42\nAAAA\n",  # a root that is not 32 bytes
        "origin\n042\n" + base64.b64encode(bytes(32)).decode() + "\n",  # a leading zero
        "origin\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n42\n" + base64.b64encode(bytes(32)).decode(),  # no final newline
        "origin\n42\n" + base64.b64encode(bytes(32)).decode() + "\nextension\n",
        "\n42\n" + base64.b64encode(bytes(32)).decode() + "\n",  # no origin
        "has space\n42\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n42\n" + base64.b64encode(bytes(32)).decode().rstrip("=") + "\n",  # unpadded
    ],
)
def test_malformed_bodies_are_refused(body: str) -> None:
    with pytest.raises(cp.MalformedCheckpoint):
        cp.parse_body(body)


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,  # no signature
        GO_TEXT + "\n",  # a blank line and nothing after it
        GO_NOTE.replace("\u2014", "-"),  # not an em dash
        GO_NOTE.replace(" x08go", " !x08go"),  # not base64
        GO_NOTE[:-1],  # no final newline
        GO_TEXT + "\n\u2014 PeterNeumann AAAA\n",  # too short for a key id and a signature
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(cp.MalformedCheckpoint):
        cp.parse_note(note)


def test_a_verifier_key_with_the_wrong_id_is_refused() -> None:
    with pytest.raises(cp.MalformedCheckpoint, match="key id"):
        cp.parse_verifier_key(GO_VERIFIER.replace("c74f20a3", "c74f20a4"))


def test_the_json_form_round_trips() -> None:
    key = go_key()
    body = cp.Checkpoint("thawgate.test/audit", 7, leaf_hash(b"7")).body()
    signature = key.sign(body.encode())
    kid = cp.key_id("thawgate.test/audit", raw_public(key))
    signed = cp.SignedCheckpoint(
        origin="thawgate.test/audit",
        size=7,
        root_hash=leaf_hash(b"7"),
        key_id=kid.hex(),
        signature=signature,
        note=cp.signed_note(body, [cp.NoteSignature("thawgate.test/audit", kid, signature)]),
        at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
    )
    as_json = cp.checkpoint_to_json(signed)
    assert as_json["root_hash"] == leaf_hash(b"7").hex()
    assert as_json["at"] == "2026-11-25T09:00:00.000000Z"
    assert cp.checkpoint_from_json(as_json) == signed
    with pytest.raises(cp.MalformedCheckpoint):
        cp.checkpoint_from_json({**as_json, "size": "7"})
    with pytest.raises(cp.MalformedCheckpoint):
        cp.checkpoint_from_json({k: v for k, v in as_json.items() if k != "note"})
