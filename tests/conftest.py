"""Shared pytest fixtures. Fixture modules of each area are plugged in here."""

pytest_plugins = [
    "tests.fixtures_core",
    "tests.fixtures_softhsm",
    "tests.fixtures_repo",
]
