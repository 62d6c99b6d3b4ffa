"""`python -m grokbatch` runs the command line."""

from grokbatch.cli.app import main

if __name__ == "__main__":
    main()
