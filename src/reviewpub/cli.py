"""The ``reviewpub`` command line (being written)."""

from __future__ import annotations

import click

from reviewpub import __version__


@click.group()
@click.version_option(__version__, prog_name="reviewpub")
def cli() -> None:
    """Publish a written review as an accessible EPUB and narrated audio."""


def main() -> None:
    """Entry point of the ``reviewpub`` script."""
    cli()
