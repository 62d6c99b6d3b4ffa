"""The command line: one Typer sub-app per command group, mounted in `app.py`."""
