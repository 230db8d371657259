"""One module per `bedside` subcommand; voice/cli.py builds the parser and dispatches to them.
May import every other part; nothing imports it but voice.cli."""
