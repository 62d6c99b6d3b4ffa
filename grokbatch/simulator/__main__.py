"""`python -m grokbatch.simulator [OPTIONS]` is `grokbatch simulator serve [OPTIONS]`."""

import typer

from grokbatch.cli.simulator import serve


def main() -> None:
    """Run the serve command as a standalone program."""
    typer.run(serve)


if __name__ == "__main__":
    main()
