"""werft.store."""
