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


def attacked(workspace: Workspace, findings: Path) -> dict[str, Any]:
    workspace.add_variable("python", sys.executable)
    workspace.add_variable("findings", str(findings))
    workspace.add_variable("TF_VAR_unused", "an env variable of the workspace", "env")
    key = workspace.upload_configuration({"main.tf": CONFIGURATION, "attack.py": ATTACK})
    plan = workspace.plan(key)
    assert plan.exit_code == 0, plan.output
    apply = workspace.run(plan.run_id, "apply", key)
    assert apply.exit_code == 0, apply.output + apply.log
    found: dict[str, Any] = json.loads(findings.read_text())
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
