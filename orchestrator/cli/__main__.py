"""`python -m orchestrator.cli` runs the `federange` command."""

from orchestrator.cli import main

main()
