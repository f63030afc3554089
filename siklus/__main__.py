"""``python -m siklus`` is the ``siklus`` command."""

from siklus.cli import main

main()
