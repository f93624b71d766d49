"""``iacp``: parse the command line, run the command, turn every failure into one line."""

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from iacp_cli import config, errors
from iacp_cli.client import Client
from iacp_cli.commands import build_parser
from iacp_cli.commands.common import Handler
from iacp_cli.errors import CliError


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        settings = config.resolve(
            getattr(args, "url", None), getattr(args, "token", None), os.environ, Path.cwd()
        )
        return handler(args, Client(settings))
    except CliError as error:
        _report(error)
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return errors.INTERRUPTED
    except BrokenPipeError:  # `iacp ... | head`: the reader has gone; stay quiet
        _quiet_stdout()
        return errors.FAILED


def _report(error: CliError) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"error: {error.message}\n")
    if error.hint:
        sys.stderr.write(f"  {error.hint}\n")
    sys.stderr.flush()


def _quiet_stdout() -> None:
    """Python flushes stdout at exit, and would complain of the broken pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
