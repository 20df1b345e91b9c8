"""Change requests created in ITSM systems from deployment intents (the CAB workflow)."""
