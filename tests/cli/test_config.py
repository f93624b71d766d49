"""Where the URL and token come from: flags, then IACP_URL/IACP_TOKEN, then .iacp/local.json
in the working directory or a parent."""

import json
import os
from pathlib import Path

import pytest

from iacp_cli.config import Settings, resolve
from iacp_cli.errors import CliError

FILE = {"url": "http://127.0.0.1:8080", "token": "at-fromfile.secret"}


def local_file(directory: Path, document: object = FILE) -> Path:
    path = directory / ".iacp" / "local.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def settings(url=None, token=None, environ=None) -> Settings:
    return resolve(url, token, environ or {}, Path.cwd())


def test_flags_win_over_the_environment_and_the_file(isolated: Path):
    local_file(isolated)
    environ = {"IACP_URL": "http://env.example:1", "IACP_TOKEN": "at-env.secret"}

    chosen = settings("https://flag.example/live", "at-flag.secret", environ)

    assert (chosen.url, chosen.token) == ("https://flag.example/live", "at-flag.secret")
    assert (chosen.url_source, chosen.token_source) == ("--url", "--token")
    assert chosen.api == "https://flag.example/live/api/v1"


def test_the_environment_wins_over_the_file(isolated: Path):
    local_file(isolated)

    chosen = settings(environ={"IACP_URL": "http://env.example:1", "IACP_TOKEN": "at-env.s"})

    assert (chosen.url, chosen.token) == ("http://env.example:1", "at-env.s")
    assert chosen.token_source == "IACP_TOKEN"


def test_the_file_is_found_in_a_parent_directory(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    path = local_file(isolated)
    nested = isolated / "modules" / "network"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)

    chosen = settings()

    assert (chosen.url, chosen.token) == (FILE["url"], FILE["token"])
    assert chosen.url_source == chosen.token_source == str(path)


def test_the_nearest_file_wins(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    local_file(isolated)
    nested = isolated / "project"
    local_file(nested, {"url": "http://127.0.0.1:9999", "token": "at-nearer.s"})
    monkeypatch.chdir(nested)

    assert settings().url == "http://127.0.0.1:9999"


def test_a_token_from_the_environment_goes_with_the_files_url(isolated: Path):
    local_file(isolated)

    chosen = settings(environ={"IACP_TOKEN": "at-env.s"})

    assert (chosen.url, chosen.token) == (FILE["url"], "at-env.s")


def test_the_files_token_is_never_sent_to_another_url(isolated: Path):
    local_file(isolated)

    with pytest.raises(CliError) as raised:
        settings(environ={"IACP_URL": "https://deployed.example/live"})

    assert "no API token" in raised.value.message
    assert "another URL" in raised.value.message
    assert FILE["token"] not in raised.value.message


def test_the_files_token_goes_with_the_same_url_spelled_differently(isolated: Path):
    local_file(isolated)

    chosen = settings(environ={"IACP_URL": "http://127.0.0.1:8080/api/v1/"})

    assert chosen.token == FILE["token"]


def test_without_a_url_the_message_says_where_it_looked(isolated: Path):
    with pytest.raises(CliError) as raised:
        settings(environ={"IACP_TOKEN": "at-x.y"})

    message = raised.value.message
    assert "--url" in message and "IACP_URL" in message and "make local" in message
    assert str(isolated) in message


def test_without_a_token_the_message_says_where_it_looked(isolated: Path):
    with pytest.raises(CliError) as raised:
        settings(environ={"IACP_URL": "http://127.0.0.1:8080"})

    assert "--token" in raised.value.message and "IACP_TOKEN" in raised.value.message
    assert ".iacp/local.json" in raised.value.message.replace(os.sep, "/")


def test_empty_variables_count_as_unset(isolated: Path):
    local_file(isolated)

    chosen = settings(environ={"IACP_URL": "", "IACP_TOKEN": ""})

    assert chosen.token == FILE["token"]


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/api/v1", "http://127.0.0.1:8080"),
        (
            "https://abc.execute-api.eu-west-1.amazonaws.com/live/",
            "https://abc.execute-api.eu-west-1.amazonaws.com/live",
        ),
        ("https://abc.example/live/api/v1/", "https://abc.example/live"),
    ],
)
def test_the_url_is_the_base_url(given: str, base: str):
    assert settings(given, "at-x.y").url == base


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://host/", "file:///etc/passwd", "http://"])
def test_a_url_that_is_not_http_is_refused(url: str):
    with pytest.raises(CliError, match="not an http"):
        settings(url, "at-x.y")


def test_an_unreadable_file_is_named(isolated: Path):
    path = local_file(isolated)
    path.write_text("{not json")

    with pytest.raises(CliError) as raised:
        settings()

    assert str(path) in raised.value.message
