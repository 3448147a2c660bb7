"""``python -m faircausesyn``: the command line."""

from faircausesyn.cli.main import main

if __name__ == "__main__":
    main()
