"""The audit log's wiring from settings: its signer, its witness file, the development key that
`thawgate init` generates, and the worker's checkpoint timer."""

from __future__ import annotations

import time
from pathlib import Path

import structlog

from thawgate.adapters.audit.signer import (
    AuditKeyError,
    Ed25519Signer,
    generate_key_file,
    signature_check,
)
from thawgate.adapters.audit.witness import WitnessFile
from thawgate.bootstrap import App
from thawgate.config import Settings
from thawgate.services import audit_log
from thawgate.services.audit_verify import TrustedKey

log = structlog.get_logger("thawgate.audit")

DEV_KEY_WARNING = (
    "generated a DEVELOPMENT audit signing key at {path}. Whoever holds this file can sign "
    "checkpoints of this audit log. Production refuses to start without a key provisioned "
    "out of band (THAWGATE_AUDIT_KEY_FILE; see docs/audit.md)."
)


def signer(settings: Settings) -> Ed25519Signer:
    return Ed25519Signer.load(settings.audit_key_file, settings.audit_origin)


def witness(settings: Settings) -> WitnessFile:
    return WitnessFile(settings.checkpoint_file)


def trusted_key(settings: Settings) -> TrustedKey:
    """The key whose signatures `audit verify` accepts: this deployment's own."""
    s = signer(settings)
    return TrustedKey(s.key_name, s.public_key)


def ensure_dev_key(settings: Settings) -> Path | None:
    """In development, create the signing key if there is none. Returns its path if created.
    In production a missing key is refused before this is reached (Settings.check)."""
    path = settings.audit_key_file
    if settings.mode != "development" or path.exists():
        return None
    generate_key_file(path)
    return path


class CheckpointTicker:
    """Called on every pass of the worker loop: at most once every `checkpoint_seconds`, signs a
    checkpoint if the log grew. So one follows any executed plan within about a second, batched,
    and the timer keeps checking while nothing executes."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.every = app.settings.checkpoint_seconds
        self._next = 0.0
        self._signer: Ed25519Signer | None = None
        self._disabled = False

    def tick(self) -> None:
        now = time.monotonic()
        if self._disabled or now < self._next:
            return
        self._next = now + self.every
        key = self._load()
        if key is None:
            return
        issued = audit_log.issue_checkpoint(
            self.app.uow(),
            signer=key,
            witness=witness(self.app.settings),
            signature_ok=signature_check(key.public_key),
            at=self.app.env.clock(),
        )
        if issued is not None:
            log.info("checkpoint signed", size=issued.size, root=issued.root_hash.hex())

    def _load(self) -> Ed25519Signer | None:
        if self._signer is None:
            try:
                self._signer = signer(self.app.settings)
            except AuditKeyError as exc:
                if self.app.settings.mode == "production":
                    raise
                self._disabled = True
                log.warning("no checkpoints: run `thawgate init` for a dev key", reason=str(exc))
                return None
        return self._signer
