import pytest
from pydantic import ValidationError

from iacp.settings import ApiSettings


def test_missing_environment_fails_at_load_naming_the_variable(monkeypatch):
    monkeypatch.delenv("WORKSPACES_TABLE", raising=False)
    monkeypatch.setenv("TOKENS_TABLE", "t")
    monkeypatch.setenv("PLATFORM_SECRET_ARN", "arn")

    with pytest.raises(ValidationError, match="WORKSPACES_TABLE"):
        ApiSettings.from_env()
