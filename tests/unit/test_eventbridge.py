"""iacp.eventbridge: EventBridge's envelope, typed by the event's own detail (here CodeCommit's
"Repository State Change", as AWS documents it)."""

import re

import pytest
from pydantic import ValidationError

from iacp.orchestration.codecommit_pushes import RepositoryStateChange

SHA = "1" * 40
DETAIL = {
    "callerUserArn": "arn:aws:iam::123456789012:user/Mary_Major",
    "commitId": SHA,
    "event": "referenceUpdated",
    "oldCommitId": "2" * 40,
    "referenceFullName": "refs/heads/main",
    "referenceName": "main",
    "referenceType": "branch",
    "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
    "repositoryName": "infra",
}
EVENT = {
    "version": "0",
    "id": "01234567-0123-0123-0123-012345678901",
    "detail-type": "CodeCommit Repository State Change",
    "source": "aws.codecommit",
    "account": "123456789012",
    "time": "2026-12-05T07:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:codecommit:us-east-1:123456789012:infra"],
    "detail": DETAIL,
}


def test_an_event_gives_its_typed_detail_and_its_envelope():
    event = RepositoryStateChange.model_validate(EVENT)

    assert (event.detail.repository_name, event.detail.commit_id) == ("infra", SHA)
    assert (event.detail_type, event.source, event.account, event.replay_name) == (
        "CodeCommit Repository State Change",
        "aws.codecommit",
        "123456789012",
        None,
    )


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({k: v for k, v in EVENT.items() if k != "detail-type"}, "detail-type"),
        ({**EVENT, "detail": {**DETAIL, "commitId": "main"}}, "detail.commitId"),
        ({**EVENT, "time": "yesterday"}, "time"),
    ],
)
def test_an_event_without_what_it_needs_is_refused_naming_the_field(broken, named):
    with pytest.raises(ValidationError, match=re.escape(named)):
        RepositoryStateChange.model_validate(broken)
