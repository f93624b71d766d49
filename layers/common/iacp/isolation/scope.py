"""The inputs of a runner phase's session policy: which run, and which of its workspace's
objects it needs."""

from pydantic import ConfigDict

from iacp.model import Model
from iacp.runs.phase import Phase


class PlatformAccount(Model):
    """Where the platform's own resources are: the stack's partition, region, account and
    artifacts bucket."""

    model_config = ConfigDict(frozen=True)

    partition: str
    region: str
    account_id: str
    bucket: str


class RunScope(Model):
    """One phase of one run, and the objects of its workspace it reads or writes."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    workspace_id: str
    phase: Phase
    configuration_key: str  # read by plan and apply; written by fetch
    state_key: str = ""  # the workspace's current state version ('': none yet)
    # A plan that fetches its commit first writes the configuration as a fetch does, and
    # needs the fetch's permissions below (the fetch phase always does).
    fetches_commit: bool = False
    # A plan that also applies (in the same task) writes the apply's artifacts and log too.
    applies: bool = False
    vcs_connection_id: str = ""  # fetching: the connection the commit comes from
    vcs_secret_arn: str = ""  # fetching: that connection's clone token ('': none)
    codecommit_repository: str = ""  # fetching: the CodeCommit repository cloned ('': not one)
    workspace_role_arn: str = ""  # plan, apply: the role Terraform runs as ('': none)
