"""Thawgate services."""
