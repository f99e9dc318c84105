"""pytest finds this file first, whatever the command line: it loads the katas' plugin (tools/plugin/),
so `python -m pytest --track solutions` works from the repository root with or without paths."""

pytest_plugins = ["tools.plugin"]
