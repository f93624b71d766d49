"""The runner's environment (docs/run-pipeline.md, "The runner"), validated at start."""

import os
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field


class Phase(StrEnum):
    PLAN = "plan"
    APPLY = "apply"


class RunnerSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str = Field(alias="IACP_RUN_ID", min_length=1)
    workspace_id: str = Field(alias="IACP_WORKSPACE_ID", min_length=1)
    phase: Phase = Field(alias="IACP_PHASE")
    bucket: str = Field(alias="IACP_BUCKET", min_length=1)
    configuration_key: str = Field(alias="IACP_CONFIGURATION_KEY", min_length=1)
    state_key: str = Field("", alias="IACP_STATE_KEY")  # empty: the workspace has no state
    working_directory: str = Field("", alias="IACP_WORKING_DIRECTORY")
    workspaces_table: str = Field(alias="IACP_WORKSPACES_TABLE", min_length=1)
    platform_secret_arn: str = Field(alias="IACP_PLATFORM_SECRET_ARN", min_length=1)
    terraform_binary: str = Field("", alias="TERRAFORM_BINARY")

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))
