"""The run-task service's side of the protocol (design §6): its callback, its data
endpoints, and the public view of a result.

Every request but the public view carries the result's access token. The checks, in order:
a token the platform did not sign (or expired, or not HS256) is 401; a good token for
another result is 403; a token that is no longer the result's (a retried dispatch minted a
new one) is 401; a result that is already final is 410 — its token died with it.
"""

import json
import re
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from iacp.documents import StoredDocument
from iacp.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    capped,
    pointer_of,
)
from iacp.model import Model
from iacp.observability import logger
from iacp.orchestration.workflow_client import Resume
from iacp.runs.artifacts import RunArtifacts
from iacp.runs.phase import plan_json_key, resource_changes_key
from iacp.runtasks.access_tokens import AccessTokens
from iacp.runtasks.models import OPEN, Outcome, OutcomeTag, ResultStatus, Stage, TaskResult
from iacp.runtasks.results import ResultRecord, TaskResultStore, outcome
from iacp.timestamps import utcnow

MAX_OUTCOMES = 10
# A result is one DynamoDB item (at most 400 KB): what a callback stores (message, url and
# outcomes, as UTF-8 JSON) must fit with room to spare, or it is a 422, never a failed write.
# Within the per-field limits, ASCII text takes at most ~120 KB plus the tags.
MAX_STORED_BYTES = 300_000
TagName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
_WEB_URL = re.compile(r"https?://[^\s/?#\x00-\x1f\x7f]+([/?#][^\s\x00-\x1f\x7f]*)?", re.I)


def _web_url(url: str) -> str:
    """A link people follow from the run: never ``javascript:``, ``data:`` or the like."""
    if not _WEB_URL.fullmatch(url):
        raise ValueError("must be an http:// or https:// URL")
    return url


WebUrl = Annotated[str, Field(max_length=500), AfterValidator(_web_url)]


class Gone(DomainError):
    """The result is final: its token is dead and it takes no more callbacks."""

    status = HTTPStatus.GONE


# --- the callback body: JSON:API, as HCP Terraform's services send it ----------------------


class _Lenient(Model):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class OutcomeAttributes(_Lenient):
    outcome_id: Annotated[str | None, Field(alias="outcome-id", max_length=200)] = None
    description: Annotated[str, Field(max_length=1000)] = ""
    body: Annotated[str | None, Field(max_length=10_000)] = None
    url: WebUrl | None = None
    tags: Annotated[dict[TagName, list[OutcomeTag]], Field(max_length=20)] = Field(
        default_factory=dict
    )


class OutcomeResource(_Lenient):
    attributes: OutcomeAttributes


class OutcomeList(_Lenient):
    data: Annotated[list[OutcomeResource], Field(max_length=MAX_OUTCOMES)] = Field(
        default_factory=list
    )


class CallbackRelationships(_Lenient):
    outcomes: OutcomeList | None = None


class CallbackAttributes(_Lenient):
    status: Literal["passed", "failed", "running"]
    message: Annotated[str | None, Field(max_length=1000)] = None
    url: WebUrl | None = None


class CallbackData(_Lenient):
    attributes: CallbackAttributes
    relationships: CallbackRelationships | None = None


class CallbackDocument(_Lenient):
    data: CallbackData

    def outcomes(self) -> list[Outcome] | None:
        relationships = self.data.relationships
        if relationships is None or relationships.outcomes is None:
            return None
        return [
            Outcome(
                outcome_id=o.attributes.outcome_id,
                description=o.attributes.description,
                body=o.attributes.body,
                url=o.attributes.url,
                tags=o.attributes.tags,
            )
            for o in relationships.outcomes.data
        ]


class CallbackService:
    def __init__(
        self,
        results: TaskResultStore,
        tokens: AccessTokens,
        resume: Resume,
        artifacts: RunArtifacts,
        configuration_key: Callable[[str], str | None],
        clock: Callable[[], datetime] = utcnow,
    ):
        self._results = results
        self._tokens = tokens
        self._resume = resume
        self._artifacts = artifacts
        self._configuration_key = configuration_key  # run id -> its archive's S3 key
        self._clock = clock

    def public(self, result_id: str) -> TaskResult:
        record = self._results.get(result_id)
        if record is None:
            raise NotFound(f"No task result {capped(result_id)}.")
        return record.result

    def callback(self, result_id: str, authorization: str | None, body: Any) -> TaskResult:
        record = self._authorized(result_id, authorization)
        document = _parse(body)
        attributes = document.data.attributes
        fields: dict[str, Any] = {}
        if attributes.message is not None:
            fields["message"] = attributes.message
        if attributes.url is not None:
            fields["url"] = attributes.url
        outcomes = document.outcomes()
        if outcomes is not None:
            fields["outcomes"] = [o.model_dump(mode="json", exclude_none=True) for o in outcomes]
        stored = len(json.dumps(fields, ensure_ascii=False).encode())
        if stored > MAX_STORED_BYTES:
            raise InvalidInput(
                f"data: the message, url and outcomes take {stored} bytes (UTF-8); at most "
                f"{MAX_STORED_BYTES} can be stored.",
                pointer="/data",
            )
        now = self._clock()
        status = ResultStatus(attributes.status)
        if status is ResultStatus.RUNNING:
            # A heartbeat: progress, so the no-progress deadline moves on (not past max run).
            due_at = min(int(now.timestamp()) + record.timeout_seconds, record.run_deadline)
            changed = self._results.change(result_id, status, now, fields, due_at=due_at)
        else:
            changed = self._results.change(result_id, status, now, fields)
        if changed is None:
            raise Gone(f"Task result {result_id} is already final.")
        if status is not ResultStatus.RUNNING and record.task_token:
            self._resume(record.task_token, outcome(changed.result))
        logger.info("task result callback", extra={"result_id": result_id, "status": status})
        return changed.result

    def plan_json(self, result_id: str, authorization: str | None) -> StoredDocument:
        return self._plan_document(result_id, authorization, plan_json_key)

    def resource_changes(self, result_id: str, authorization: str | None) -> StoredDocument:
        return self._plan_document(result_id, authorization, resource_changes_key)

    def configuration_url(self, result_id: str, authorization: str | None) -> str:
        record = self._authorized(result_id, authorization)
        key = self._configuration_key(record.result.run_id)
        if key is None:
            raise NotFound(f"Run {record.result.run_id} has no configuration version.")
        return self._artifacts.download_url(key)

    def _plan_document(
        self, result_id: str, authorization: str | None, key_of: Callable[[str], str]
    ) -> StoredDocument:
        record = self._authorized(result_id, authorization)
        run_id = record.result.run_id
        if record.result.stage is Stage.PRE_PLAN:
            raise NotFound("There is no plan before the plan: this is a pre_plan task.")
        document = self._artifacts.document(key_of(run_id))
        if document is None:
            raise NotFound(f"Run {run_id} has no plan yet.")
        return document

    def _authorized(self, result_id: str, authorization: str | None) -> ResultRecord:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send the task's access token: 'Authorization: Bearer <token>'.")
        claims = self._tokens.verify(token.strip())
        if claims.result_id != result_id:
            raise Forbidden("This access token belongs to another task result.")
        record = self._results.get(result_id)
        if record is None or record.token_id != claims.jti:
            raise Unauthorized("The access token is not valid.")
        if record.result.status not in OPEN:
            raise Gone(f"Task result {result_id} is already final ({record.result.status}).")
        return record


def _parse(body: Any) -> CallbackDocument:
    try:
        return CallbackDocument.model_validate(body)
    except ValidationError as error:
        first = error.errors(include_input=False)[0]
        pointer = pointer_of(first.get("loc", ()))
        where = pointer.lstrip("/") or "body"
        raise InvalidInput(f"{where}: {first.get('msg', 'is invalid')}", pointer=pointer) from None
