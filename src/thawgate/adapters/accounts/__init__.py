"""Thawgate adapters/accounts."""
