"""Terraform never holds the platform's credentials (docs/security.md): a configuration's
``local-exec`` (tests/isolation_attack.py) looks at its environment and at every ancestor's
``/proc/<pid>/environ`` and ``cmdline``, and finds nothing of the runner's."""

import json
import sys
from pathlib import Path
from typing import Any

from tests.runner.conftest import ROOT, Platform, Workspace

ATTACK = (ROOT / "tests" / "isolation_attack.py").read_text()
CONFIGURATION = """
variable "python" { type = string }
variable "findings" { type = string }

resource "terraform_data" "attack" {
  provisioner "local-exec" {
    command = "${var.python} ${path.module}/attack.py ${var.findings}"
  }
}
"""
NOTHING_TO_CALL = ["no endpoint on 127.0.0.1 found: no call made"]


def attacked(workspace: Workspace, findings: Path, **options: str) -> dict[str, Any]:
    workspace.add_variable("python", sys.executable)
    workspace.add_variable("findings", str(findings))
    workspace.add_variable("TF_VAR_unused", "an env variable of the workspace", "env")
    key = workspace.upload_configuration({"main.tf": CONFIGURATION, "attack.py": ATTACK})
    plan = workspace.plan(key, **options)
    assert plan.exit_code == 0, plan.output
    apply = workspace.run(plan.run_id, "apply", key, **options)
    assert apply.exit_code == 0, apply.output + apply.log
    found: dict[str, Any] = json.loads(findings.read_text())
    found["apply log"] = apply.log
    return found


def test_terraform_finds_no_platform_credential_or_resource(
    workspace: Workspace, platform: Platform, tmp_path: Path
) -> None:
    found = attacked(workspace, tmp_path / "findings.json")

    environment = found["environment"]
    assert not [name for name in environment if name.startswith(("AWS_", "IACP_"))]
    assert environment["TF_VAR_unused"] == "an env variable of the workspace"
    assert Path(environment["HOME"]).name == "home"  # the run's own directory
    platform_names = [platform.endpoint, platform.bucket, platform.table, platform.secret]
    everything = json.dumps(found)
    for name in platform_names:
        assert name not in everything, name
    # The runner is among the ancestors, started with credentials, and shows none of them.
    runner = [a for a in found["ancestors"] if "runner.main" in a["cmdline"]]
    assert len(runner) == 1
    assert "AWS_" not in runner[0]["environ"] and "IACP_" not in runner[0]["environ"]
    assert found["calls"] == NOTHING_TO_CALL


def test_a_workspace_role_gives_terraform_that_roles_session_and_nothing_more(
    workspace: Workspace, platform: Platform, tmp_path: Path
) -> None:
    role = "arn:aws:iam::444455556666:role/teams/networking"
    found = attacked(workspace, tmp_path / "findings.json", workspace_role_arn=role)

    aws = {k: v for k, v in found["environment"].items() if k.startswith("AWS_")}
    assert set(aws) == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
    }
    assert aws["AWS_ACCESS_KEY_ID"] != "testing"  # the role's session, not the runner's
    assert aws["AWS_REGION"] == "us-east-1"
    log = found["apply log"]
    assert f"iacp: Terraform runs as {role} (session iacp-" in log
    assert aws["AWS_SECRET_ACCESS_KEY"] not in log  # the attack printed it: masked
    assert aws["AWS_SESSION_TOKEN"] not in log
    assert platform.endpoint not in json.dumps(found)
