"""The sync engine: runs a connection's streams into records, one run at a time."""
