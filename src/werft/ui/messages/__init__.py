"""The UI's message catalogs: one module per language, the same keys in each."""
