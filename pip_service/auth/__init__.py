"""API tokens with roles admin / operator / viewer, and OPAL read tokens."""
