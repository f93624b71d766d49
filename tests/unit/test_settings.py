import pytest
from pydantic import ValidationError

from iacp.settings import ApiSettings, NotificationSettings, VcsFeedbackSettings


def test_missing_environment_fails_at_load_naming_the_variable(monkeypatch):
    monkeypatch.delenv("WORKSPACES_TABLE", raising=False)
    monkeypatch.setenv("TOKENS_TABLE", "t")
    monkeypatch.setenv("PLATFORM_SECRET_ARN", "arn")

    with pytest.raises(ValidationError, match="WORKSPACES_TABLE"):
        ApiSettings.from_env()


NOTIFICATION_ENVIRONMENT = {
    "WORKSPACES_TABLE": "workspaces",
    "NOTIFICATION_DELIVERIES_TABLE": "deliveries",
    "PLATFORM_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:platform",
    "OUTBOUND_PRIVATE_ADDRESSES": "deny",
    "NOTIFICATION_MAX_RECEIVES": "5",
    "NOTIFICATION_RETRY_SECONDS": "30",
}


@pytest.fixture
def notification_environment(monkeypatch):
    for name, value in NOTIFICATION_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ORGANIZATION_NAME", raising=False)


def test_settings_are_read_from_the_variables_text_with_their_defaults(notification_environment):
    settings = NotificationSettings.from_env()

    assert settings.workspaces_table == "workspaces"
    assert settings.notification_max_receives == 5
    assert settings.outbound_private_addresses == "deny"
    assert settings.organization_name == "default"
    with pytest.raises(ValidationError):
        settings.workspaces_table = "other"  # type: ignore[misc]  # frozen


@pytest.mark.parametrize(
    ("text", "flag"), [("true", True), ("false", False), ("True", True), ("1", True), ("0", False)]
)
def test_a_flag_reads_from_the_variables_text(monkeypatch, text, flag):
    environment = {
        "WORKSPACES_TABLE": "workspaces",
        "RUNS_TABLE": "runs",
        "TASK_RESULTS_TABLE": "results",
        "ARTIFACTS_BUCKET": "artifacts",
        "VCS_SECRETS_PREFIX": "iacp/vcs",
        "PUBLIC_BASE_URL": "https://iacp.example.com",
        "OUTBOUND_PRIVATE_ADDRESSES": "deny",
        "VCS_FEEDBACK_MAX_RECEIVES": "5",
        "VCS_FEEDBACK_RETRY_SECONDS": "30",
        "ALLOW_PLAIN_HTTP_URLS": text,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert VcsFeedbackSettings.from_env().allow_plain_http_urls is flag


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUTBOUND_PRIVATE_ADDRESSES", "maybe"),
        ("NOTIFICATION_MAX_RECEIVES", "five"),
        ("NOTIFICATION_MAX_RECEIVES", "0"),
        ("WORKSPACES_TABLE", ""),
    ],
)
def test_a_bad_value_fails_at_load_naming_its_variable(
    notification_environment, monkeypatch, name, value
):
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name):
        NotificationSettings.from_env()
