"""What the runner reads: every variable, sensitive values unsealed, across pages."""

import boto3

from iacp.crypto import Sealer, derive_key
from iacp.variables.service import SEALING_PURPOSE, variables_for_run
from iacp.variables.store import DynamoVariableStore


def test_runner_gets_every_variable_with_sensitive_values_unsealed(aws, admin):
    ws = admin.post("/workspaces", {"name": "runs"}).json()["id"]
    for i in range(105):  # more than one page
        admin.post(f"/workspaces/{ws}/vars", {"key": f"v{i}", "value": str(i), "category": "env"})
    admin.post(
        f"/workspaces/{ws}/vars",
        {"key": "db_password", "value": "hunter2", "category": "terraform", "sensitive": True},
    )
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=aws.refs["PlatformSecret"])
    sealer = Sealer(derive_key(secret["SecretString"], SEALING_PURPOSE))

    variables = variables_for_run(DynamoVariableStore(aws.refs["WorkspacesTable"]), ws, sealer)

    by_key = {v.key: v for v in variables}
    assert len(variables) == 106
    assert by_key["v104"].value == "104"
    assert by_key["db_password"].value == "hunter2"
    assert by_key["db_password"].sensitive is True
    assert "hunter2" not in repr(by_key["db_password"])
