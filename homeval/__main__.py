"""``python -m homeval``: the CLI with this interpreter (how ``homeval up`` starts its children)."""

from homeval.cli import main

main()
