"""werft.tracking."""
