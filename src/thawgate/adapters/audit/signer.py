"""The checkpoint signer: an Ed25519 key in a PEM (PKCS #8) file, as `openssl genpkey -algorithm
ed25519` writes it. The key's name in signed notes is the log's origin."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from thawgate.domain.checkpoint import key_id, verifier_key


class AuditKeyError(ValueError):
    """The signing key file is missing, unreadable or not an Ed25519 private key."""


class Ed25519Signer:
    def __init__(self, private_key: Ed25519PrivateKey, key_name: str) -> None:
        self._key = private_key
        self.key_name = key_name
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id(key_name, self.public_key)
        self.verifier_key = verifier_key(key_name, self.public_key)

    @classmethod
    def load(cls, path: Path, key_name: str) -> Ed25519Signer:
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise AuditKeyError(f"no audit signing key at {path}") from None
        except OSError as exc:
            raise AuditKeyError(f"audit signing key {path}: {exc.strerror}") from None
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise AuditKeyError(f"audit signing key {path}: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditKeyError(f"audit signing key {path}: not an Ed25519 private key")
        return cls(key, key_name)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def generate_key_file(path: Path) -> None:
    """Write a new Ed25519 private key, readable by its owner only. Never overwrites."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def signature_check(public_key: bytes) -> Callable[[bytes, bytes], bool]:
    """(message, signature) -> whether the signature is this key's, over this message."""
    key = Ed25519PublicKey.from_public_bytes(public_key)

    def check(message: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    return check
