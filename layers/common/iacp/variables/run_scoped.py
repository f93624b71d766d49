"""Run-scoped variables (HCP Terraform's run variables): Terraform variables given when a run
is created, for that run alone.

They are never stored with the workspace: the run keeps them sealed among its private
attributes (bound to the run, so the ciphertext opens nowhere else), and each of its phases
gets them with the workspace's, a run variable overriding the workspace's Terraform variable
of the same key. They are sensitive: their values are never returned, and the runner masks
them in logs and the redacted plan like a sensitive workspace variable.
"""

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, TypeAdapter

from iacp.crypto import Sealer
from iacp.model import Model
from iacp.variables.models import KEY_PATTERNS, RunVariable, Value, VariableCategory

MAX_RUN_VARIABLES = 100
# The run item keeps them sealed (a third larger in base64): well inside DynamoDB's 400 KB.
MAX_RUN_VARIABLES_BYTES = 128 * 1024


class RunScopedVariable(Model):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, Field(pattern=KEY_PATTERNS[VariableCategory.TERRAFORM].pattern)]
    value: Value = Field(repr=False)
    hcl: StrictBool = Field(False, description="The value is an HCL expression, not a string")


def _fits(variables: list[RunScopedVariable]) -> list[RunScopedVariable]:
    keys = [v.key for v in variables]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"each key may be given once: {', '.join(repeated)} given more than once")
    if sum(len(v.key) + len(v.value.encode()) for v in variables) > MAX_RUN_VARIABLES_BYTES:
        raise ValueError(f"the variables come to more than {MAX_RUN_VARIABLES_BYTES} bytes")
    return variables


RunScopedVariables = Annotated[
    list[RunScopedVariable],
    Field(max_length=MAX_RUN_VARIABLES),
    AfterValidator(_fits),
]
_SEALED = TypeAdapter(list[RunScopedVariable], config=ConfigDict(defer_build=True))  # iacp.model


def seal_run_variables(variables: list[RunScopedVariable], sealer: Sealer, run_id: str) -> str:
    return sealer.seal(_SEALED.dump_json(variables).decode(), bound_to=_binding(run_id))


def open_run_variables(sealed: str, sealer: Sealer, run_id: str) -> list[RunVariable]:
    """The run's variables as its runner takes them: Terraform variables, sensitive."""
    opened = _SEALED.validate_json(sealer.open(sealed, bound_to=_binding(run_id)))
    return [
        RunVariable(
            key=v.key,
            value=v.value,
            category=VariableCategory.TERRAFORM,
            hcl=v.hcl,
            sensitive=True,
        )
        for v in opened
    ]


def overriding(workspace: list[RunVariable], run: list[RunVariable]) -> list[RunVariable]:
    """The workspace's variables with the run's: a run variable replaces the workspace's
    Terraform variable of the same key (an HCL one or not), as in HCP Terraform."""
    keys = {v.key for v in run}
    kept = [
        v for v in workspace if v.category is not VariableCategory.TERRAFORM or v.key not in keys
    ]
    return kept + run


def _binding(run_id: str) -> str:
    return f"run-variables/{run_id}"
