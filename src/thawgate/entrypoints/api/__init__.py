"""Thawgate entrypoints/api."""
