"""Thawgate adapters."""
