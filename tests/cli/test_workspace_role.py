"""``iacp workspace create|show`` and the workspace's IAM role."""

from tests.cli.conftest import FakeApi, workspace

WS = "ws-aaaaaaaaaaaaaaaa"
ROLE = "arn:aws:iam::123456789012:role/terraform"


def test_create_sends_the_role_settings_given(cli, api: FakeApi):
    api.route("POST", "/api/v1/workspaces", lambda r: (201, workspace(WS, r.json()["name"])))

    result = cli(
        "workspace",
        "create",
        "demo",
        "--aws-role-arn",
        ROLE,
        "--aws-external-id",
        "tenant-42",
        "--aws-session-duration",
        "1800",
    )

    assert result.code == 0
    assert api.requests[0].json() == {
        "name": "demo",
        "aws_role_arn": ROLE,
        "aws_external_id": "tenant-42",
        "aws_session_duration": 1800,
    }


def test_show_prints_the_role_its_external_id_and_session(cli, api: FakeApi):
    assumed = workspace(
        WS, "demo", aws_role_arn=ROLE, aws_external_id="tenant-42", aws_session_duration=1800
    )
    api.route("GET", f"/api/v1/workspaces/{WS}", (200, assumed))

    out = cli("workspace", "show", WS).out.splitlines()

    assert f"aws role:          {ROLE}" in out
    assert "aws external id:   tenant-42" in out
    assert "aws session:       1800 seconds" in out


def test_show_of_a_workspace_without_a_role_says_none(cli, api: FakeApi):
    api.route("GET", f"/api/v1/workspaces/{WS}", (200, workspace(WS, "demo", aws_role_arn=None)))

    out = cli("workspace", "show", WS).out.splitlines()

    assert "aws role:          none" in out
    assert not any(line.startswith("aws session") for line in out)
