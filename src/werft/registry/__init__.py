"""werft.registry: model packaging, versions, aliases, lineage."""
