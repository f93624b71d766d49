"""How events find workspaces: repository keys (github.com and gitlab.com URLs as their paths,
other hosts' URLs as URLs), branch and tag patterns (fnmatch, validated with git's ref-name
rules for their literal parts), and GitLab's secret token."""

import pytest
from pydantic import TypeAdapter, ValidationError

from iacp.orchestration.gitlab_webhooks import delivery_of
from iacp.vcs.gitlab import token_matches
from iacp.vcs.models import Branch, Repository, TagPattern, ref_matches, repository_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Octo-Org/Infra", "octo-org/infra"),
        ("https://github.com/octo-org/infra.git", "octo-org/infra"),
        ("https://gitlab.com/Group/Sub/Project.git", "group/sub/project"),
        ("https://gitlab.com/group/project/", "group/project"),
        ("ssh://git@gitlab.com/group/sub/project.git", "group/sub/project"),
        ("group/sub/project", "group/sub/project"),
        # Another host's URL stays a URL: matched against the URLs its webhook sends.
        (
            "https://gitlab.example.com/group/project.git",
            "https://gitlab.example.com/group/project",
        ),
        (
            "https://gitlab.com.evil.example/group/project",
            "https://gitlab.com.evil.example/group/project",
        ),
        ("file:///srv/git/infra.git", "file:///srv/git/infra"),
    ],
)
def test_repository_keys(name, key):
    assert repository_key(name) == key


@pytest.mark.parametrize(
    ("name", "pattern", "matches"),
    [
        ("main", "main", True),
        ("mainline", "main", False),
        ("release/1.2", "release/*", True),
        ("release/eu/1.3", "release/*", True),  # * matches / too
        ("Release/1.2", "release/*", False),  # case counts
        ("hotfix-7", "hotfix-[0-9]", True),
        ("hotfix-x", "hotfix-[!a-w]", True),
        ("v1.0.0", "v?.*", True),
    ],
)
def test_ref_patterns(name, pattern, matches):
    assert ref_matches(name, pattern) is matches


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "a..b",
        "a//b",
        "/main",
        "main/",
        "main.",
        "x.lock",
        "*.lock",
        ".hidden",
        "a/.b",
        "release/[",
        "release/]",
        "[]",
        "a!b",
        "with space",
        "a~b",
        "a^b",
        "a:b",
        "a\\b",
    ],
)
def test_bad_ref_patterns_are_refused(pattern):
    for kind in (Branch, TagPattern):
        with pytest.raises(ValidationError):
            TypeAdapter(kind).validate_python(pattern)


@pytest.mark.parametrize("pattern", ["main", "release/*", "v[0-9]*", "feature/?-x", "[!x]y"])
def test_good_ref_patterns_are_taken(pattern):
    assert TypeAdapter(Branch).validate_python(pattern) == pattern


@pytest.mark.parametrize(
    ("repository", "valid"),
    [
        ("group/sub/project", True),
        ("a/b/c/d", True),
        ("group/../project", False),
        ("./project", False),
        ("https://gitlab.com/a/b.git", True),
        ("https://user:pw@gitlab.com/a/b.git", False),
    ],
)
def test_repository_names(repository, valid):
    adapter = TypeAdapter(Repository)
    if valid:
        assert adapter.validate_python(repository) == repository
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(repository)


def test_the_gitlab_token_is_compared_whole():
    assert token_matches("a-secret-token-x", "a-secret-token-x")
    assert not token_matches("a-secret-token-x", "a-secret-token")
    assert not token_matches("a-secret-token-x", None)
    assert not token_matches("", "")


def test_a_gitlab_delivery_is_its_idempotency_key_else_its_event_uuid_else_its_body():
    body = b'{"object_kind": "push"}'
    both = {"idempotency-key": "k", "x-gitlab-event-uuid": "e"}
    assert delivery_of(both, body) == delivery_of({"idempotency-key": "k"}, b"{}")
    assert delivery_of(both, body) != delivery_of({"x-gitlab-event-uuid": "k"}, body)
    assert delivery_of({"x-gitlab-event-uuid": "e"}, body) == delivery_of(
        {"x-gitlab-event-uuid": "e", "idempotency-key": " "}, b"{}"
    )
    assert delivery_of({}, body) == delivery_of({}, body) != delivery_of({}, b"{}")
