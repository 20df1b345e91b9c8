"""Policy documents: built from records, versioned, cached and served to OPAL."""
