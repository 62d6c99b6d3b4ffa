"""`python -m grokbatch` runs the command line."""

from grokbatch.cli.entry import main

if __name__ == "__main__":
    main()
