"""werft.cli."""
