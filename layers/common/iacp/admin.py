"""Operator commands run with AWS credentials, outside the API.

``python -m iacp.admin bootstrap-token --stack-name iacp`` mints an admin API token for a
fresh deployment, which has no token to call ``POST /tokens`` with. It writes straight to the
tokens table, so only someone allowed to write that table can run it. The token is printed
once, on standard output; nothing else goes there.
"""

import argparse
import sys
from collections.abc import Sequence

import boto3

from iacp.principal import Role
from iacp.tokens.service import mint_token
from iacp.tokens.store import DynamoTokenStore

TOKENS_TABLE_OUTPUT = "TokensTableName"


def tokens_table_of_stack(stack_name: str) -> str:
    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if TOKENS_TABLE_OUTPUT not in outputs:
        raise SystemExit(f"stack {stack_name} has no {TOKENS_TABLE_OUTPUT} output")
    return outputs[TOKENS_TABLE_OUTPUT]


def bootstrap_token(tokens_table: str, description: str) -> str:
    store = DynamoTokenStore(tokens_table)
    created = mint_token(store, role=Role.ADMIN, description=description, created_by="bootstrap")
    print(f"created admin token {created.id} in {tokens_table}", file=sys.stderr)
    return created.token


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iacp.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    bootstrap = commands.add_parser("bootstrap-token", help="mint an admin API token")
    where = bootstrap.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack-name", help="the deployed stack (reads its TokensTableName)")
    where.add_argument("--tokens-table", help="the tokens table's name")
    bootstrap.add_argument("--description", default="bootstrap admin token")
    args = parser.parse_args(argv)
    table = args.tokens_table or tokens_table_of_stack(args.stack_name)
    print(bootstrap_token(table, args.description))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
