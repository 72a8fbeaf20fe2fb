"""Thawgate domain."""
