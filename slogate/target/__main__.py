"""``python -m slogate.target``: serve the reference target (see ``--help``)."""

from slogate.target.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
