"""Thawgate entrypoints."""
