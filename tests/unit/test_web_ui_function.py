"""The web UI function: the built app's files with their headers, the strict CSP on every
reply, and clear errors for what it does not serve."""

import json
from pathlib import Path
from typing import cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.web_ui import app as web_ui


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>iacp</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "assets" / "index-abc123.css").write_text("body{}")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n")  # not text: never served
    monkeypatch.setattr(web_ui, "BUNDLE", web_ui._bundle(tmp_path))
    return tmp_path


def get(proxy: str | None, stage_path: str = "/live/") -> dict:
    event = {
        "httpMethod": "GET",
        "pathParameters": None if proxy is None else {"proxy": proxy},
        "requestContext": {"path": stage_path},
    }
    return web_ui.lambda_handler(event, cast(LambdaContext, None))


def test_the_page_is_served_at_the_root_with_a_strict_policy(bundle):
    reply = get(None)

    assert reply["statusCode"] == 200
    assert reply["body"].startswith("<!doctype html>")
    headers = reply["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    policy = dict(d.split(" ", 1) for d in headers["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == policy["style-src"] == policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_hashed_assets_are_immutable_and_typed(bundle):
    script = get("assets/index-abc123.js")
    style = get("assets/index-abc123.css")

    assert script["headers"]["Content-Type"].endswith("javascript; charset=utf-8")
    assert script["headers"]["Cache-Control"] == web_ui.IMMUTABLE
    assert style["headers"]["Content-Type"] == "text/css; charset=utf-8"
    assert get("favicon.svg")["headers"]["Content-Type"] == "image/svg+xml"
    assert "Content-Security-Policy" in script["headers"]


def test_the_stage_root_without_its_slash_redirects_to_it(bundle):
    reply = get(None, stage_path="/live")

    assert reply["statusCode"] == 301
    assert reply["headers"]["Location"] == "/live/"


@pytest.mark.parametrize("path", ["nope.html", "logo.png", "../app.py", "assets/../../app.py"])
def test_what_is_not_in_the_bundle_is_a_json_404(bundle, path):
    reply = get(path)

    assert reply["statusCode"] == 404
    assert json.loads(reply["body"])["errors"][0]["status"] == "404"
    assert "Content-Security-Policy" in reply["headers"]


def test_an_unbuilt_ui_says_how_to_build_it(monkeypatch):
    monkeypatch.setattr(web_ui, "BUNDLE", {})

    reply = get(None)

    assert reply["statusCode"] == 503
    assert "make web" in json.loads(reply["body"])["errors"][0]["detail"]
