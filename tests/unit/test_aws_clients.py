"""The platform's boto3 session (iacp.aws): its clients load their service's model without
listing every service botocore has, and load the same models botocore's own loader does."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.loaders import Loader

from iacp.aws import ServiceLoader, default_session, new_session

# What the functions and the runner call, and one service whose paginators botocore extends
# with an extras file (ec2's paginators-1.sdk-extras.json).
SERVICES = (
    "dynamodb",
    "s3",
    "ecs",
    "stepfunctions",
    "sts",
    "events",
    "secretsmanager",
    "codecommit",
    "sns",
    "sqs",
    "lambda",
    "ec2",
)
MODEL_TYPES = ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2")


class CountingLoader(ServiceLoader):
    def __init__(self) -> None:
        super().__init__()
        self.listings: list[str] = []

    def list_available_services(self, type_name: str) -> Any:
        self.listings.append(type_name)
        return super().list_available_services(type_name)


@pytest.fixture(scope="module")
def botocore_loader() -> Loader:
    return Loader()


@pytest.mark.parametrize("service", SERVICES)
def test_each_model_is_the_one_botocore_loads(service, botocore_loader):
    loader = ServiceLoader()
    for type_name in MODEL_TYPES:
        try:
            expected = botocore_loader.load_service_model(service, type_name)
        except DataNotFoundError:  # no waiters for this service, say: the same for both
            with pytest.raises(DataNotFoundError):
                loader.load_service_model(service, type_name)
            continue
        assert loader.load_service_model(service, type_name) == expected, type_name


def test_a_client_is_made_without_listing_every_service():
    loader = CountingLoader()
    loader.load_service_model("dynamodb", "service-2")
    loader.load_service_model("dynamodb", "endpoint-rule-set-1")

    assert loader.listings == []


def test_an_unknown_service_gets_botocores_own_error_naming_the_known_ones():
    loader = CountingLoader()

    with pytest.raises(UnknownServiceError) as raised:
        loader.load_service_model("dynamodbb", "service-2")

    assert "dynamodb" in str(raised.value)
    assert loader.listings == ["service-2"]


@pytest.mark.parametrize("name", ["../data/dynamodb", "dynamodb/2012-08-10", "", "DynamoDB"])
def test_a_name_that_is_not_a_service_name_is_left_to_botocores_check(name):
    loader = CountingLoader()

    with pytest.raises(UnknownServiceError):
        loader.load_service_model(name, "service-2")
    assert loader.listings == ["service-2"]


def test_an_api_version_asked_for_is_loaded_and_a_missing_one_is_not_found(botocore_loader):
    loader = ServiceLoader()

    assert loader.load_service_model(
        "dynamodb", "service-2", "2012-08-10"
    ) == botocore_loader.load_service_model("dynamodb", "service-2", "2012-08-10")
    with pytest.raises(DataNotFoundError):
        loader.load_service_model("dynamodb", "service-2", "2001-01-01")


def dynamodb_client_of(session: boto3.Session) -> Any:
    return session.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_a_new_sessions_clients_use_the_service_loader():
    session = new_session()
    client, plain = dynamodb_client_of(session), dynamodb_client_of(boto3.Session())

    assert isinstance(session._session.get_component("data_loader"), ServiceLoader)
    assert client.meta.service_model.operation_names == plain.meta.service_model.operation_names
    assert client.meta.endpoint_url == plain.meta.endpoint_url


def test_the_default_session_is_made_with_the_service_loader_unless_one_exists(monkeypatch):
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)

    made = default_session()

    assert boto3.DEFAULT_SESSION is made
    assert isinstance(made._session.get_component("data_loader"), ServiceLoader)
    existing = boto3.Session()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", existing)
    assert default_session() is existing
