"""Until tests/conftest.py registers ``tests.sandbox_fixtures`` as a plugin."""

from tests.sandbox_fixtures import *  # noqa: F403
