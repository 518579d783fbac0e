"""werft.deploy: deployments, replicas, feedback."""
