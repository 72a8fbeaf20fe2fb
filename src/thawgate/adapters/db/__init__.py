"""Thawgate adapters/db."""
