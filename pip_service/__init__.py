"""PIP service: a Policy Information Point for OPA, fed through OPAL."""

__version__ = "0.1.0"
