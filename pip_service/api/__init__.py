"""The HTTP API: admin (/api/v1), ops (/healthz, /readyz, /metrics) and OPAL (/opal)."""
