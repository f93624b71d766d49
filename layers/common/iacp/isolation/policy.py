"""The session policy and session tags of a runner phase.

A session's permissions are the intersection of its role's policy and its session policy.
The runner's session role (template.yaml, ``RunnerSessionRole``) already confines each
session to the workspace and run its tags name; the session policy narrows that to the exact
objects of this phase, so a fault in either one alone still leaks nothing across workspaces.
"""

import json
from typing import Any

from iacp.isolation.scope import PlatformAccount, RunScope
from iacp.runs.phase import Phase

# STS refuses a session policy longer than this (plain text, whitespace included).
MAX_SESSION_POLICY_CHARS = 2048
# Tag keys the role's policy (template.yaml) reads as ${aws:PrincipalTag/...}.
RUN_TAG = "iacp-run"
WORKSPACE_TAG = "iacp-workspace"
PHASE_TAG = "iacp-phase"
VCS_CONNECTION_TAG = "iacp-vcs-connection"
CODECOMMIT_REPOSITORY_TAG = "iacp-codecommit-repository"


class SessionPolicyTooLarge(ValueError):
    pass


def session_policy(account: PlatformAccount, scope: RunScope) -> dict[str, Any]:
    """Read the run's configuration version, the workspace's current state and the run's
    own artifacts; write only this phase's artifacts and log (and, fetching, the
    configuration version: the fetch phase, or a plan that fetches its commit first); the
    clone token, repository and workspace role of this run."""
    bucket = f"arn:{account.partition}:s3:::{account.bucket}"
    run = f"{bucket}/runs/{scope.run_id}"
    reads = [f"{bucket}/{scope.configuration_key}", f"{run}/*"]
    if scope.state_key:
        reads.append(f"{bucket}/{scope.state_key}")
    writes = [f"{run}/{scope.phase}/*", f"{run}/logs/{scope.phase}/*"]
    if scope.applies:
        writes += [f"{run}/{Phase.APPLY}/*", f"{run}/logs/{Phase.APPLY}/*"]
    if scope.phase is Phase.FETCH or scope.fetches_commit:
        writes.append(f"{bucket}/{scope.configuration_key}")
    statements = [_allow(["s3:GetObject"], reads), _allow(["s3:PutObject"], writes)]
    if scope.vcs_secret_arn:
        statements.append(_allow(["secretsmanager:GetSecretValue"], [scope.vcs_secret_arn]))
    if scope.codecommit_repository:
        repository = (
            f"arn:{account.partition}:codecommit:{account.region}:{account.account_id}:"
            f"{scope.codecommit_repository}"
        )
        statements.append(_allow(["codecommit:GitPull"], [repository]))
    if scope.workspace_role_arn:
        statements.append(_allow(["sts:AssumeRole", "sts:TagSession"], [scope.workspace_role_arn]))
    return {"Version": "2012-10-17", "Statement": statements}


def session_policy_text(account: PlatformAccount, scope: RunScope) -> str:
    """The policy as STS takes it: compact JSON, refused here when STS would refuse it."""
    text = json.dumps(session_policy(account, scope), separators=(",", ":"))
    if len(text) > MAX_SESSION_POLICY_CHARS:
        raise SessionPolicyTooLarge(
            f"The runner's session policy for run {scope.run_id} has {len(text)} characters; "
            f"STS takes at most {MAX_SESSION_POLICY_CHARS}."
        )
    return text


def session_tags(scope: RunScope) -> list[dict[str, str]]:
    """The session's tags: what the role's policy and a workspace role's trust policy check."""
    tags = {RUN_TAG: scope.run_id, WORKSPACE_TAG: scope.workspace_id, PHASE_TAG: scope.phase}
    if scope.vcs_connection_id:
        tags[VCS_CONNECTION_TAG] = scope.vcs_connection_id
    if scope.codecommit_repository:
        tags[CODECOMMIT_REPOSITORY_TAG] = scope.codecommit_repository
    return [{"Key": key, "Value": str(value)} for key, value in tags.items()]


def session_name(scope: RunScope) -> str:
    """Names the run and phase in CloudTrail (64 characters at most)."""
    return f"{scope.run_id}-{scope.phase}"[:64]


def _allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}
