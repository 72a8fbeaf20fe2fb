"""Thawgate policy."""
