"""werft.monitoring: drift and data-quality checks over logged predictions."""
