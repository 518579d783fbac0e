"""werft.server."""
