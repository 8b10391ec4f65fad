"""``python -m reviewpub`` runs the same command line as the ``reviewpub`` script."""

from __future__ import annotations

from reviewpub.cli import main

if __name__ == "__main__":
    main()
