"""``python _cli_main.py ARGS``: the real ``siklus`` command with the data-quality commands.

Until ``siklus/cli/__init__.py`` registers them, the CLI tests run the real entry point
(:func:`siklus.cli.main`) after attaching the four commands to ``siklus data`` with the
same lines the registration will use. Once they are registered this adds nothing.
"""

from __future__ import annotations

import sys

from siklus.cli import data, main, quality

_COMMANDS = {
    "profile": quality.profile,
    "check": quality.check,
    "pii": quality.pii,
    "select-features": quality.select_features,
}

if __name__ == "__main__":
    registered = {command.name for command in data.app.registered_commands}
    for name, function in _COMMANDS.items():
        if name not in registered:
            data.app.command(name)(function)
    main(sys.argv[1:])
