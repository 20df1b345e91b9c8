"""Webhook receivers: verification, the event log, idempotency and targeted refresh."""
