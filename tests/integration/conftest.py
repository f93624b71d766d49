"""Fixtures of the integration tests: the run-task tests' (tests/runtasks_support.py has
their helpers), and the event sources Lambda would drive (the runs table's stream, the SQS
queues), polled by hand."""

from collections.abc import Callable, Iterator

import pytest

from iacp.services.machinery import RunMachinery
from local.queues import QueuePoller, read_queue_sources
from local.streams import StreamPoller, read_stream_sources
from tests.runs_support import machinery_for
from tests.runtasks_support import CapturingService, capturing_service, record_resumes


@pytest.fixture
def machinery(aws) -> RunMachinery:
    return machinery_for(aws)


@pytest.fixture
def resumes(aws, monkeypatch):
    """What the platform resumes waiting workflow steps with (moto accepts any token)."""
    return record_resumes(monkeypatch)


@pytest.fixture
def service() -> Iterator[CapturingService]:
    """A run-task service over real HTTP that records what it receives."""
    with capturing_service() as running:
        yield running


@pytest.fixture
def stream_poller(aws, handlers, monkeypatch) -> StreamPoller:
    """The runs table's stream → RunEventsFunction, one ``poll()`` at a time."""
    # In-process moto routes DescribeStream only to its own streams endpoint.
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "https://streams.dynamodb.us-east-1.amazonaws.com"
    )
    return StreamPoller(handlers, read_stream_sources(aws))


@pytest.fixture
def queue_poller(aws, handlers) -> Callable[[str], QueuePoller]:
    """The SQS event sources of one function (``FollowUpFunction``, ...)."""

    def of(function_id: str) -> QueuePoller:
        sources = [s for s in read_queue_sources(aws) if s.function_id == function_id]
        assert sources, f"{function_id} has no SQS event source"
        return QueuePoller(handlers, sources)

    return of
