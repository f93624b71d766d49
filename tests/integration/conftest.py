"""Fixtures of the run-task tests (tests/runtasks_support.py has their helpers)."""

from collections.abc import Iterator

import pytest

from iacp.services import RunMachinery
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
