"""Records: the normalized objects a connection's streams produced."""
