"""werft.client."""
