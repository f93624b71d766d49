"""What the command modules share: making a leaf parser, the --json option, and secrets
read from the environment."""

import argparse
import os
from collections.abc import Callable
from typing import Any

from iacp_cli.client import Client
from iacp_cli.errors import CliError

Handler = Callable[[argparse.Namespace, Client], int]
Subparsers = Any  # argparse's _SubParsersAction, which it does not export


def noun(nouns: Subparsers, name: str, help_text: str) -> Subparsers:  # the verbs of ``iacp NAME``
    parser = nouns.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest="verb", metavar="VERB", required=True)


def verb(
    verbs: Subparsers,
    name: str,
    help_text: str,
    common: argparse.ArgumentParser,
    handler: Handler,
    *,
    json_option: bool = False,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = verbs.add_parser(
        name,
        help=help_text,
        description=help_text,
        parents=[common],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    if json_option:
        parser.add_argument(
            "--json", action="store_true", help="print the API's JSON instead of text"
        )
    return parser


def comma_list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    """An argument type: ``a,b`` as a list, each item one of ``choices``."""

    def parse(value: str) -> list[str]:
        items = [item.strip() for item in value.split(",") if item.strip()]
        wrong = [item for item in items if item not in choices]
        if not items or wrong:
            raise argparse.ArgumentTypeError(
                f"{', '.join(wrong) or 'nothing'}: choose from {', '.join(choices)}"
            )
        return items

    return parse


def from_environment(option: str, variable: str | None) -> str | None:
    """The secret in environment variable ``variable`` (named by ``option``, e.g.
    ``--token-env``), never taken from the command line where ``ps`` shows it; None when the
    option was not given."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise CliError(f"{option}: the environment variable {variable} is unset")
    return value
