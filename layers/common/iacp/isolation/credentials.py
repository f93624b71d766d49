"""Per-phase credentials for the runner: the runner's session role, assumed by the workflow
with the phase's session policy and tags (docs/security.md, "Per-run credentials")."""

import os

from pydantic import Field

from iacp.aws import sts_client
from iacp.isolation.policy import session_name, session_policy_text, session_tags
from iacp.isolation.scope import PlatformAccount, RunScope
from iacp.model import Model

# The workflow's own credentials are a role session, so this is role chaining: STS caps the
# session at one hour. A phase that outlives it can no longer save its artifacts (a known
# limit, docs/security.md).
MAX_SESSION_SECONDS = 3600


class RunnerCredentials(Model):
    access_key_id: str
    secret_access_key: str = Field(repr=False)
    session_token: str = Field(repr=False)


class RunnerCredentialIssuer:
    def __init__(self, role_arn: str, bucket: str, session_seconds: int = MAX_SESSION_SECONDS):
        """``role_arn``: the runner's session role (``arn:<partition>:iam::<account>:role/...``),
        in the account and region of the platform (the function's own region)."""
        partition, account_id = _partition_and_account(role_arn)
        self.account = PlatformAccount(
            partition=partition,
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", ""),
            account_id=account_id,
            bucket=bucket,
        )
        self._role_arn = role_arn
        self._session_seconds = session_seconds

    def issue(self, scope: RunScope) -> RunnerCredentials:
        reply = sts_client().assume_role(
            RoleArn=self._role_arn,
            RoleSessionName=session_name(scope),
            Policy=session_policy_text(self.account, scope),
            Tags=session_tags(scope),
            DurationSeconds=self._session_seconds,
        )
        credentials = reply["Credentials"]
        return RunnerCredentials(
            access_key_id=credentials["AccessKeyId"],
            secret_access_key=credentials["SecretAccessKey"],
            session_token=credentials["SessionToken"],
        )


def _partition_and_account(role_arn: str) -> tuple[str, str]:
    parts = role_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[4].isdigit():
        raise ValueError("the runner's session role is not an IAM role ARN")
    return parts[1], parts[4]
