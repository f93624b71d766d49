"""The runner's environment (docs/run-pipeline.md, "The runner"), validated at start."""

import os
import re
from collections.abc import Mapping
from typing import Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, Json, model_validator

from iacp.runs.phase import Phase, PlanOptions

# The clone URLs the fetch phase takes; ``codecommit::<region>://<repository>`` needs the
# git-remote-codecommit helper (in the runner's image).
CLONE_URL_PREFIXES = ("https://", "http://", "file:///", "codecommit::")
_COMMIT = re.compile(r"[0-9a-fA-F]{40}")
# A full ref name, and nothing git could read as an option or a refspec (check-ref-format's
# other rules are git's to apply).
_REF = re.compile(r"refs/[^\x00-\x20\x7f:?*\[\\^~]+")


class RunnerSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str = Field(alias="IACP_RUN_ID", min_length=1)
    workspace_id: str = Field(alias="IACP_WORKSPACE_ID", min_length=1)
    phase: Phase = Field(alias="IACP_PHASE")
    bucket: str = Field(alias="IACP_BUCKET", min_length=1)
    configuration_key: str = Field(alias="IACP_CONFIGURATION_KEY", min_length=1)
    state_key: str = Field("", alias="IACP_STATE_KEY")  # empty: the workspace has no state
    working_directory: str = Field("", alias="IACP_WORKING_DIRECTORY")
    # The runner's own credentials for this phase, minted by the workflow and narrowed to
    # this run (docs/security.md); only the runner uses them, never Terraform.
    aws_access_key_id: str = Field(alias="AWS_ACCESS_KEY_ID", min_length=1, repr=False)
    aws_secret_access_key: str = Field(alias="AWS_SECRET_ACCESS_KEY", min_length=1, repr=False)
    aws_session_token: str = Field("", alias="AWS_SESSION_TOKEN", repr=False)
    aws_region: str = Field(validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    aws_endpoint_url: str = Field("", alias="AWS_ENDPOINT_URL")  # local mode: moto's
    # Opens the phase's sealed variables (iacp.variables.handoff); plan and apply.
    variables_key: str = Field("", alias="IACP_VARIABLES_KEY", repr=False)
    # The workspace's own role, for Terraform's credentials ('': Terraform gets none).
    workspace_role_arn: str = Field("", alias="IACP_WORKSPACE_ROLE_ARN")
    workspace_role_external_id: str = Field("", alias="IACP_WORKSPACE_ROLE_EXTERNAL_ID")
    workspace_role_session_seconds: int = Field(
        3600, alias="IACP_WORKSPACE_ROLE_SESSION_SECONDS", ge=900, le=3600
    )
    terraform_binary: str = Field("", alias="TERRAFORM_BINARY")
    # The workspace's terraform_version ('': whichever Terraform the runner has).
    terraform_version: str = Field("", alias="IACP_TERRAFORM_VERSION")
    # The run's plan options as JSON (the plan phase's; a saved plan carries them to the apply).
    plan_options: Json[PlanOptions] = Field(default_factory=PlanOptions, alias="IACP_PLAN_OPTIONS")
    # Plan only: apply the plan in this same process if it ended within this many seconds of
    # the runner's start (0: never; docs/run-pipeline.md, "The apply in the plan task").
    apply_within_seconds: int = Field(0, alias="IACP_APPLY_WITHIN_SECONDS", ge=0)
    # Plan only: why an auto-apply run's apply has a task of its own ('': none to say).
    apply_elsewhere: str = Field("", alias="IACP_APPLY_ELSEWHERE", max_length=500)
    # The commit to fetch: the fetch phase's (required there), or a plan's that fetches it
    # first (docs/run-pipeline.md, "The fetch inside the plan"); the apply ignores them.
    vcs_clone_url: str = Field("", alias="IACP_VCS_CLONE_URL")
    vcs_commit: str = Field("", alias="IACP_VCS_COMMIT")
    vcs_ref: str = Field("", alias="IACP_VCS_REF")  # fetched when the SHA cannot be
    vcs_credentials_secret: str = Field("", alias="IACP_VCS_CREDENTIALS_SECRET")  # '': none

    @property
    def fetches_commit(self) -> bool:
        """Whether the phase clones a commit into the configuration archive: the fetch
        phase, or a plan handed a commit (it then plans what it fetched)."""
        return self.phase is Phase.FETCH or (self.phase is Phase.PLAN and bool(self.vcs_clone_url))

    @model_validator(mode="after")
    def _check_phase(self) -> Self:
        if self.phase is not Phase.FETCH and not self.variables_key:
            raise ValueError("IACP_VARIABLES_KEY is required for the plan and apply phases")
        if not self.fetches_commit:
            return self
        # The messages never quote a value: a URL may hold a password.
        url = self.vcs_clone_url
        if not url.startswith(CLONE_URL_PREFIXES) or not _parses(url):
            raise ValueError(
                "IACP_VCS_CLONE_URL must be an https://, http://, file:/// or codecommit:: URL"
            )
        if not _COMMIT.fullmatch(self.vcs_commit):
            raise ValueError("IACP_VCS_COMMIT must be a commit SHA of 40 hexadecimal digits")
        if self.vcs_ref and (not _REF.fullmatch(self.vcs_ref) or ".." in self.vcs_ref):
            raise ValueError("IACP_VCS_REF must be empty or a full ref name (refs/...)")
        return self

    @classmethod
    def from_env(cls, environment: Mapping[str, str] | None = None) -> Self:
        return cls.model_validate(dict(os.environ if environment is None else environment))


def _parses(url: str) -> bool:
    """No space or control character, and (http, https) a host."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return False
    if not url.startswith(("https://", "http://")):
        return True
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # e.g. an unclosed [IPv6 address
        return False
