"""Outbound notifications."""
