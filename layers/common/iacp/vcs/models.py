"""VCS connections and a workspace's VCS settings (design §9; docs/vcs.md). The commit a
VCS-driven run plans is its configuration version's (``iacp.configurations.models``)."""

import fnmatch
import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
)

from iacp.model import Model
from iacp.paths import RelativePath
from iacp.timestamps import UtcDatetime

CONNECTION_ID = r"^vcs-[A-Za-z0-9]{16}$"

# git-remote-codecommit's clone URLs: codecommit::<region>://<repository>
CODECOMMIT_CLONE_URL_PREFIX = "codecommit::"


def codecommit_repository_of(clone_url: str) -> str:
    """The CodeCommit repository a clone URL names; '' for any other URL."""
    if not clone_url.startswith(CODECOMMIT_CLONE_URL_PREFIX):
        return ""
    return clone_url.partition("://")[2]


class VcsProvider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    CODECOMMIT = "codecommit"


# Where each host's API is unless a connection names another (GitHub Enterprise Server:
# https://HOST/api/v3; a self-managed GitLab: its URL, the API being under /api/v4).
DEFAULT_API_URLS = {
    VcsProvider.GITHUB: "https://api.github.com",
    VcsProvider.GITLAB: "https://gitlab.com",
}

ApiUrl = Annotated[
    str,
    StringConstraints(max_length=500, pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$"),
    BeforeValidator(lambda value: value.rstrip("/") if isinstance(value, str) else value),
    Field(
        description="The host's API: GitHub https://api.github.com (the default; GitHub "
        "Enterprise Server https://HOST/api/v3), GitLab https://gitlab.com (the default) or a "
        "self-managed instance's URL. CodeCommit: none."
    ),
]


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


class VcsConnectionCreate(_Input):
    provider: VcsProvider
    description: Annotated[str, Field(max_length=1000)] = ""
    webhook_secret: Annotated[
        SecretStr | None,
        Field(
            min_length=16,
            max_length=256,
            description="GitHub: the webhook's secret; GitLab: the webhook's secret token "
            "(X-Gitlab-Token). Required for both. Never returned.",
        ),
    ] = None
    token: Annotated[
        SecretStr | None,
        Field(
            min_length=1,
            max_length=1000,
            description="GitHub: a token that may read the repositories (for private ones) "
            "and post commit statuses and pull-request comments; GitLab: a project or group "
            "access token (read_repository and api scopes). Never returned.",
        ),
    ] = None
    api_url: ApiUrl | None = None


class VcsConnection(Model):
    id: str
    created_at: UtcDatetime
    provider: VcsProvider
    description: str
    webhook_url: str | None = Field(
        None,
        description="GitHub: the Payload URL for the repository's webhook (content type "
        "application/json, this connection's secret). GitLab: the URL of the project's or "
        "group's webhook (Secret token: this connection's secret). CodeCommit: null, pushes "
        "arrive through EventBridge.",
    )
    webhook_secret_set: bool
    token_set: bool
    api_url: str | None = Field(
        None, description="The host's API (GitHub, GitLab; null on connections made before)"
    )


class FeedbackStatus(StrEnum):
    POSTED = "posted"
    FAILED = "failed"
    SKIPPED = "skipped"


class VcsFeedback(Model):
    """What the platform last reported to the repository host about a VCS-driven run (its
    commit status, its pull-request comment), on the run: a failure to post is visible here
    and in the logs, never an error of the run."""

    status: FeedbackStatus
    reason: str = Field("", description="Why it failed or was skipped; what was posted")
    at: UtcDatetime
    attempts: int = Field(1, description="Attempts at the latest report")


def _no_credentials(repository: str) -> str:
    if re.match(r"^[a-z+]+://[^/]*@", repository):
        raise ValueError("must not hold credentials: give the VCS connection a token instead")
    return repository


def _no_dot_segments(repository: str) -> str:
    if "://" not in repository and any(part in {".", ".."} for part in repository.split("/")):
        raise ValueError("must not have . or .. segments")
    return repository


Repository = Annotated[
    str,
    StringConstraints(
        max_length=500,
        # A name, GitHub's owner/name, GitLab's group/subgroup/.../project, or a URL.
        pattern=r"^([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*|(https?|file)://\S+)$",
    ),
    AfterValidator(_no_credentials),
    AfterValidator(_no_dot_segments),
    Field(
        description="GitHub: owner/name; GitLab: the project's path with its namespace "
        "(group/subgroup/project); either, or a clone URL (https:// or, for local use, "
        "file://). CodeCommit: the repository's name."
    ),
]


# fnmatch's wildcards: *, ? and a bracket expression ([abc], [!abc], [0-9]). git refuses
# these characters in ref names, so a pattern's wildcards and its literal parts never mix up.
_BRACKETS = re.compile(r"\[!?[^\[\]/!]+\]")


def _ref_pattern(pattern: str) -> str:
    """A branch or tag name, or an fnmatch pattern of them: git check-ref-format's rules
    (those the character class cannot say) hold for its literal parts."""
    literal = _BRACKETS.sub("x", pattern).replace("*", "x").replace("?", "x")
    if any(c in literal for c in "[]!"):
        raise ValueError("has an unclosed [ ] or a ! outside one")
    if ".." in literal or "//" in literal or literal.startswith("/"):
        raise ValueError("is not a valid ref name or pattern")
    if literal.endswith(("/", ".", ".lock")) or "/." in literal or literal.startswith("."):
        raise ValueError("is not a valid ref name or pattern")
    return pattern


def ref_matches(name: str, pattern: str) -> bool:
    """Whether a branch or tag name matches a workspace's pattern (``fnmatchcase``: case
    counts, and ``*`` matches ``/`` too). A pattern without wildcards is the name itself."""
    return fnmatch.fnmatchcase(name, pattern)


_REF_PATTERN = StringConstraints(max_length=250, pattern=r"^[A-Za-z0-9._/*?\[\]!-]+$")

Branch = Annotated[
    str,
    _REF_PATTERN,
    AfterValidator(_ref_pattern),
    Field(
        description="The branch whose pushes plan and apply (and pull requests into it plan), "
        "or a pattern of branches (fnmatch: *, ?, [...]; * matches / too): release/*"
    ),
]

TagPattern = Annotated[
    str,
    _REF_PATTERN,
    AfterValidator(_ref_pattern),
    Field(
        description="The tags whose pushes plan and apply, a name or a pattern (fnmatch: *, "
        "?, [...]; * matches / too): v*. Null: tag pushes start nothing. Not for CodeCommit."
    ),
]


TriggerPrefix = Annotated[
    RelativePath,
    # HCP Terraform writes them as "/modules/"; here they are directories, relative or not.
    BeforeValidator(lambda value: value.strip("/") if isinstance(value, str) else value),
]


class WorkspaceVcs(_Input):
    connection_id: Annotated[str, StringConstraints(pattern=CONNECTION_ID)]
    repository: Repository
    branch: Branch
    trigger_prefixes: Annotated[
        list[TriggerPrefix],
        Field(
            max_length=20,
            description="Directories a push must touch to start a run (the working directory "
            "counts too). Empty: every push to the branch starts one. Tag pushes ignore them.",
        ),
    ] = []  # noqa: RUF012 -- a model: pydantic copies defaults
    tags: TagPattern | None = None


# A repository's URL on a host whose repositories are known by their path there: github.com
# (owner/name) and gitlab.com (group/.../project).
_HOSTED = re.compile(
    r"^(?:https?|git|ssh)://(?:[^@/]+@)?(?:www\.)?"
    r"(?:github\.com/([^/]+/[^/]+)|gitlab\.com/([^/]+(?:/[^/]+)+))$"
)


def repository_key(repository: str) -> str:
    """How a repository is matched: case-insensitive, without a trailing ``.git`` or ``/``,
    and a github.com or gitlab.com URL as its path there (``owner/name``,
    ``group/subgroup/project``). Other hosts' URLs (GitHub Enterprise, a self-managed GitLab)
    stay URLs: which hosts are whose is not known here, and their webhooks send the
    repository's URLs too."""
    key = repository.strip().lower().removesuffix("/").removesuffix(".git")
    hosted = _HOSTED.match(key)
    return (hosted.group(1) or hosted.group(2)) if hosted else key


def touches(files: set[str], prefixes: list[str]) -> bool:
    """Whether any changed file lies in one of the directories (``""`` is the root)."""
    directories = [p.strip("/") for p in prefixes]
    return any(
        not d or path == d or path.startswith(d + "/") for path in files for d in directories
    )
