"""Connections: a configured source system (type, config, secrets, schedule, state)."""
