"""werft.serving: the inference server."""
