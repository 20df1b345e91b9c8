"""Source-system connectors for the PIP service.

Every connector is a package below this one, built on :mod:`connectors.base`.
This package never imports FastAPI or :mod:`pip_service`.
"""
