"""Tests of the OPAL contract, the OPAL-facing endpoints and the real-OPAL path."""
