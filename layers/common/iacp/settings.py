"""Environment of each function, validated when the function loads: a missing variable
fails the cold start instead of the first request that needs it."""

import os
from typing import Self

from pydantic import BaseModel, ConfigDict, Field


class _EnvironmentSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))


class AuthorizerSettings(_EnvironmentSettings):
    tokens_table: str = Field(alias="TOKENS_TABLE", min_length=1)


class ApiSettings(_EnvironmentSettings):
    workspaces_table: str = Field(alias="WORKSPACES_TABLE", min_length=1)
    tokens_table: str = Field(alias="TOKENS_TABLE", min_length=1)
    platform_secret_arn: str = Field(alias="PLATFORM_SECRET_ARN", min_length=1)
