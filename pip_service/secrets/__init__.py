"""Secrets at rest: AES-256-GCM envelopes with a key id, and the key ring that opens them."""

from pip_service.secrets.crypto import Envelope, KeyRing, generate_key

__all__ = ["Envelope", "KeyRing", "generate_key"]
