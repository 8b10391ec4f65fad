"""Run the CLI in-process and fail with its stderr on an unexpected exit status."""

from __future__ import annotations

from click.testing import CliRunner, Result

from reviewpub.cli import cli
from reviewpub.errors import ExitStatus


def run_cli(*arguments: str, expect: ExitStatus = ExitStatus.SUCCESS, input: str | None = None) -> Result:
    """Run ``reviewpub`` in-process; fail with its stderr when the exit status is unexpected."""
    runner = CliRunner(mix_stderr=False)
    result = runner.invoke(cli, list(arguments), input=input, catch_exceptions=expect != ExitStatus.SUCCESS)
    if result.exit_code != expect:
        raise AssertionError(
            f"reviewpub {' '.join(arguments)} exited {result.exit_code}, expected {int(expect)}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\nexception: {result.exception!r}"
        )
    return result
