"""werft.server.api."""
