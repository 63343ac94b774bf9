"""`hub` subcommands by area. Each module has `register(commands)` adding its subcommands.

app/cli.py lists these modules in AREA_COMMANDS. Packages beside hub (connectors/) declare theirs
in the `hub.commands` entry-point group of pyproject.toml.
"""
