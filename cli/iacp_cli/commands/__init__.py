"""The command line: one module per noun, each adding its verbs to the parser.

Every leaf parser sets ``handler``, a function of the parsed arguments and an API client
returning the exit code.
"""

import argparse

from iacp_cli import __version__
from iacp_cli.commands import (
    notifications,
    resources,
    runs,
    runtasks,
    state,
    tokens,
    upload,
    variables,
    vcs,
    workspaces,
)
from iacp_cli.watch import EXIT_CODES_HELP

DESCRIPTION = """The command-line client of the iacp Terraform run platform.

Where the platform is and the API token come from, first found: --url/--token, the
IACP_URL/IACP_TOKEN environment variables, or .iacp/local.json (written by `make local`) in
this directory or a parent. The URL is the platform's base URL, e.g. http://127.0.0.1:8080
or https://abc.execute-api.eu-west-1.amazonaws.com/live (a trailing /api/v1 is accepted).
Workspaces and run tasks are named by name or id."""

EPILOG = (
    EXIT_CODES_HELP
    + """
Every error is one `error: ...` line on standard error; API errors show the HTTP status and
the API's own detail."""
)


def connection_options() -> argparse.ArgumentParser:
    """--url and --token, accepted before the command or after it."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection")
    group.add_argument(
        "--url", default=argparse.SUPPRESS, help="the platform's base URL (else IACP_URL)"
    )
    group.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="the API token (else IACP_TOKEN; the environment keeps it out of `ps`)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iacp",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[connection_options()],
    )
    parser.add_argument("--version", action="version", version=f"iacp {__version__}")
    nouns = parser.add_subparsers(dest="noun", metavar="COMMAND", required=True)
    common = connection_options()
    modules = (
        workspaces,
        variables,
        upload,
        runs,
        runtasks,
        tokens,
        state,
        resources,
        notifications,
        vcs,
    )
    for module in modules:
        module.register(nouns, common)
    return parser
