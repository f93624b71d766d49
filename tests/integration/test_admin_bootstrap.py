"""``python -m iacp.admin bootstrap-token``: the first admin token of a fresh deployment,
written straight to the tokens table and printed once on stdout."""

import hashlib
import json
import re
from typing import Any

import boto3
import pytest

from iacp.admin import main
from local.template import Provisioned
from tests.conftest import ApiClient

TOKEN = re.compile(r"^(at-[A-Za-z0-9]{16})\.[A-Za-z0-9_-]{40,}$")


# --- setup helpers -----------------------------------------------------------------------


def create_stack(name: str, outputs: dict[str, str]) -> None:
    """A CloudFormation stack (in moto) with one harmless resource and these outputs."""
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    if not outputs:
        del template["Outputs"]
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def bootstrap(capsys, *args: str) -> str:
    """Run the command; return the one line it printed on stdout."""
    assert main(["bootstrap-token", *args]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1, f"stdout must hold the token alone, got {out!r}"
    assert out == lines[0] + "\n"
    return lines[0]


def stored_token(aws: Provisioned, token_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb").Table(aws.refs["TokensTable"])
    item = table.get_item(Key={"id": token_id}).get("Item")
    assert item is not None, f"no stored token {token_id}"
    return dict(item)


# --- tests -------------------------------------------------------------------------------


def test_bootstrap_prints_only_the_token_on_stdout(aws, capsys):
    # when the command runs against the tokens table
    assert main(["bootstrap-token", "--tokens-table", aws.refs["TokensTable"]]) == 0

    # then stdout is exactly one line, the token, and the note about it goes to stderr
    out, err = capsys.readouterr()
    [line] = out.splitlines()
    assert out == line + "\n"
    match = TOKEN.match(line)
    assert match, line
    assert match.group(1) in err
    assert line not in err


def test_bootstrap_token_is_an_admin_token_stored_hashed(aws, capsys):
    token = bootstrap(capsys, "--tokens-table", aws.refs["TokensTable"], "--description", "day one")

    token_id = token.partition(".")[0]
    item = stored_token(aws, token_id)
    assert item["role"] == "admin"
    assert item["created_by"] == "bootstrap"
    assert item["description"] == "day one"
    assert "workspaces" not in item
    assert "expires_at" not in item
    assert item["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token.partition(".")[2] not in str(item)


def test_bootstrap_token_works_as_admin_through_the_gateway(aws, gateway, capsys):
    # given a bootstrapped token
    token = bootstrap(capsys, "--tokens-table", aws.refs["TokensTable"])
    client = ApiClient(gateway, token)

    # then it can do what only an admin can: create and list tokens
    created = client.post("/tokens", {"role": "write", "description": "CI"})
    assert created.status == 201, created.body
    assert created.json()["created_by"] == token.partition(".")[0]
    assert client.get("/tokens").status == 200


def test_each_bootstrap_mints_a_new_token(aws, capsys):
    first = bootstrap(capsys, "--tokens-table", aws.refs["TokensTable"])
    second = bootstrap(capsys, "--tokens-table", aws.refs["TokensTable"])

    assert first != second
    assert first.partition(".")[0] != second.partition(".")[0]


def test_bootstrap_finds_the_tokens_table_from_the_stack_outputs(aws, gateway, capsys):
    # given a stack whose TokensTableName output names the tokens table
    create_stack("iacp", {"TokensTableName": aws.refs["TokensTable"], "ApiUrl": "https://x"})

    # when the command is given only the stack name
    token = bootstrap(capsys, "--stack-name", "iacp")

    # then the token lands in that table and works as admin
    assert stored_token(aws, token.partition(".")[0])["role"] == "admin"
    assert ApiClient(gateway, token).post("/tokens", {"role": "read"}).status == 201


@pytest.mark.parametrize(
    "outputs", [{}, {"WorkspacesTableName": "iacp-test-WorkspacesTable"}], ids=["none", "others"]
)
def test_stack_without_the_tokens_table_output_exits_naming_it(aws, capsys, outputs):
    create_stack("not-iacp", outputs)

    with pytest.raises(SystemExit) as exit_info:
        main(["bootstrap-token", "--stack-name", "not-iacp"])

    assert "TokensTableName" in str(exit_info.value.code)
    assert "not-iacp" in str(exit_info.value.code)
    assert capsys.readouterr().out == ""  # no token was printed
    table = boto3.resource("dynamodb").Table(aws.refs["TokensTable"])
    assert table.scan()["Items"] == []  # and none was minted


@pytest.mark.parametrize(
    "args",
    [[], ["--stack-name", "iacp", "--tokens-table", "t"]],
    ids=["neither", "both"],
)
def test_bootstrap_needs_exactly_one_of_stack_name_and_tokens_table(aws, capsys, args):
    with pytest.raises(SystemExit) as exit_info:
        main(["bootstrap-token", *args])

    assert exit_info.value.code == 2  # argparse's usage error
    assert capsys.readouterr().out == ""
