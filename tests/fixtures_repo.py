"""Fixtures (placeholder module, filled by its area)."""
