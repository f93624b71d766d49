"""Variables (design §9). A sensitive value is write-only: it is stored sealed and every
reply shows ``"value": null`` with ``"sensitive": true``."""

import re
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StrictBool

from iacp.changes import not_nullable
from iacp.model import Model
from iacp.timestamps import UtcDatetime


class VariableCategory(StrEnum):
    TERRAFORM = "terraform"
    ENV = "env"


# Terraform allows '-' in variable names; the environment does not.
KEY_PATTERNS = {
    VariableCategory.TERRAFORM: re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$"),
    VariableCategory.ENV: re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"),
}

Key = Annotated[str, Field(min_length=1, max_length=128)]
Value = Annotated[str, Field(max_length=65536)]
Description = Annotated[str, Field(max_length=512)]


class Variable(Model):
    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    workspace_id: str
    key: str
    value: str | None = Field(description="null when the variable is sensitive")
    category: VariableCategory
    hcl: bool
    sensitive: bool
    description: str


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


class VariableCreate(_Input):
    key: Key
    # repr=False on every value field: a value may be sensitive, and debug logging prints
    # request models (Powertools logs a route's arguments at DEBUG).
    value: Value = Field("", repr=False)
    category: VariableCategory
    hcl: StrictBool = Field(False, description="Parse the value as HCL (terraform variables only)")
    sensitive: StrictBool = Field(False, description="Write-only: never returned, stored sealed")
    description: Description = ""


class VariableUpdate(_Input):
    """Only the fields present change. A sensitive variable cannot be made non-sensitive."""

    key: Key | None = None
    value: Value | None = Field(None, repr=False)
    category: VariableCategory | None = None
    hcl: StrictBool | None = None
    sensitive: StrictBool | None = None
    description: Description | None = None

    _not_null = not_nullable("*")


class RunVariable(Model):
    """A variable as a run needs it: the value unsealed, for the runner's memory only."""

    key: str
    value: str = Field(repr=False)
    category: VariableCategory
    hcl: bool
    sensitive: bool
