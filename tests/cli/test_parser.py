"""The command line's shape: every command of the issue parses, and wrong usage exits 2."""

import pytest

from iacp_cli.__main__ import main
from iacp_cli.commands import build_parser


def parse(*args: str):
    return build_parser().parse_args(list(args))


def test_every_command_of_the_issue_parses():
    commands = [
        ["workspace", "create", "demo", "--auto-apply", "--working-directory", "infra"],
        ["workspace", "list"],
        ["workspace", "show", "demo", "--json"],
        ["workspace", "delete", "ws-aaaaaaaaaaaaaaaa"],
        ["var", "set", "demo", "greeting", "hi", "--hcl", "--sensitive"],
        ["var", "set", "demo", "TF_LOG", "info", "--env"],
        ["var", "list", "demo"],
        ["upload", "demo", "."],
        ["run", "start", "demo", "--plan-only"],
        ["run", "start", "demo", "--auto-apply", "--message", "go", "--watch"],
        ["run", "start", "demo", "--destroy", "--no-refresh", "--target", "a.b", "--replace", "c"],
        ["run", "start", "demo", "--refresh-only", "--plan-only"],
        ["run", "watch", "run-aaaaaaaaaaaaaaaa", "--timeout", "60"],
        ["run", "apply", "run-aaaaaaaaaaaaaaaa", "--comment", "ok", "--watch"],
        ["run", "discard", "run-aaaaaaaaaaaaaaaa"],
        ["run", "cancel", "run-aaaaaaaaaaaaaaaa", "--force"],
        ["run", "override", "run-aaaaaaaaaaaaaaaa", "--comment", "intended"],
        ["run", "show", "run-aaaaaaaaaaaaaaaa"],
        ["run", "list", "demo"],
        ["runtask", "create", "no-destroy", "https://policy.example/", "--hmac-key-env", "K"],
        ["runtask", "list", "--workspace", "demo"],
        ["runtask", "attach", "demo", "no-destroy", "--stages", "post_plan,pre_apply"],
        ["token", "create", "--role", "write", "--workspace", "a", "--workspace", "b"],
        ["state", "show", "demo"],
        ["run", "logs", "run-aaaaaaaaaaaaaaaa", "--phase", "apply"],
        ["run", "plan-json", "run-aaaaaaaaaaaaaaaa"],
        ["var", "delete", "demo", "TF_LOG", "--env"],
        ["workspace", "lock", "demo", "--reason", "maintenance"],
        ["workspace", "unlock", "demo", "--force"],
        ["workspace", "update", "demo", "--terraform-version", "1.9.8", "--no-auto-apply"],
        ["token", "list", "--json"],
        ["token", "delete", "at-aaaaaaaaaaaaaaaa"],
        ["runtask", "detach", "demo", "no-destroy"],
    ]
    for command in commands:
        assert callable(parse(*command).handler), command


def test_run_start_options():
    args = parse("run", "start", "demo", "--plan-only", "--no-auto-apply", "--message", "m")

    assert (args.workspace, args.plan_only, args.auto_apply, args.message) == (
        "demo",
        True,
        False,
        "m",
    )
    assert parse("run", "start", "demo").auto_apply is None


def test_run_start_plan_options():
    args = parse("run", "start", "demo", "--no-refresh", "--target", "a", "--target", "b")
    plain = parse("run", "start", "demo")

    assert (args.destroy, args.refresh_only, args.refresh) == (False, False, False)
    assert (args.target, args.replace) == (["a", "b"], [])
    assert (plain.destroy, plain.refresh_only, plain.refresh) == (False, False, True)
    assert (plain.target, plain.replace) == ([], [])


def test_the_connection_flags_go_before_or_after_the_command():
    before = parse("--url", "http://a:1", "--token", "t", "workspace", "list")
    after = parse("workspace", "list", "--url", "http://b:2")

    assert (before.url, before.token) == ("http://a:1", "t")
    assert after.url == "http://b:2"
    assert not hasattr(parse("workspace", "list"), "url")


def test_attach_takes_stages_as_a_comma_list():
    args = parse("runtask", "attach", "demo", "t", "--stages", "pre_plan, post_apply")

    assert args.stages == ["pre_plan", "post_apply"]
    assert args.enforcement == "advisory"
    assert parse("runtask", "attach", "demo", "t").stages == ["post_plan"]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["workspace"],
        ["run", "start"],
        ["runtask", "attach", "demo", "t", "--stages", "post_plan,during_lunch"],
        ["runtask", "attach", "demo", "t", "--enforcement", "strict"],
        ["token", "create"],
        ["token", "create", "--role", "root"],
        ["run", "start", "demo", "--watch", "--json"],
        ["run", "start", "demo", "--destroy", "--refresh-only"],
        ["run", "start", "demo", "--target"],
        ["run", "watch", "r", "--timeout", "soon"],
        ["run", "logs", "r", "--phase", "destroy"],
        ["var", "delete", "demo"],
        ["workspace", "lock"],
        ["token", "delete"],
        ["runtask", "detach", "demo"],
    ],
)
def test_wrong_usage_exits_2(command: list[str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(command)

    assert exited.value.code == 2
    assert "usage: iacp" in capsys.readouterr().err


def test_help_needs_no_settings(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(["run", "watch", "--help"])

    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "run task stopped the run" in out
