"""The sync tests' fixtures: memory connector, key ring, locks, a connection factory."""

from tests.sync.conftest import connect, key_spec, keyring, locks, memory_connector, sync
from tests.sync.source import fake_source

__all__ = ["connect", "fake_source", "key_spec", "keyring", "locks", "memory_connector", "sync"]
