"""``python -m werft`` runs the CLI."""

from werft.cli.main import main

main()
