"""The audit log's outside world: the Ed25519 checkpoint signer, the witness file, exports."""
