"""The workspace's variables where Terraform reads them: ``terraform`` ones in tfvars files in
the working directory, ``env`` ones in the environment of the Terraform processes."""

import json
from collections.abc import Iterable
from pathlib import Path

from iacp.variables.models import RunVariable, VariableCategory
from runner.result import Stage, StepFailed

TFVARS_JSON = "terraform.tfvars.json"
# HCL values are Terraform expressions: they go verbatim into an HCL file. Being an
# *.auto.tfvars file, Terraform reads it after terraform.tfvars(.json), so it wins over them.
HCL_TFVARS = "iacp-workspace.auto.tfvars"


def write_terraform_variables(workdir: Path, variables: Iterable[RunVariable]) -> None:
    terraform = [v for v in variables if v.category is VariableCategory.TERRAFORM]
    plain = {v.key: v.value for v in terraform if not v.hcl}
    hcl = [v for v in terraform if v.hcl]
    if plain:
        path = workdir / TFVARS_JSON
        path.write_text(json.dumps(_configuration_values(path) | plain))
    if hcl:
        (workdir / HCL_TFVARS).write_text("".join(f"{v.key} = {v.value}\n" for v in hcl))


def environment_of(variables: Iterable[RunVariable]) -> dict[str, str]:
    return {v.key: v.value for v in variables if v.category is VariableCategory.ENV}


def _configuration_values(path: Path) -> dict[str, object]:
    """Values the configuration's own terraform.tfvars.json sets: workspace values override
    them one by one rather than replacing the whole file."""
    if not path.exists():
        return {}
    try:
        values = json.loads(path.read_bytes())
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise StepFailed(Stage.CONFIGURATION, f"{TFVARS_JSON} is not a JSON object.")
    return values
