"""Fixtures shared with the webhook tests."""

from tests.webhooks.conftest import okta

__all__ = ["okta"]
