"""Thawgate: the one gate for every thaw and unbind."""
