"""werft.sdk."""
