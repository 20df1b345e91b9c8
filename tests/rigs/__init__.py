"""Test rigs: the real OPAL server and client, and an OPA-compatible policy store."""
