"""The web UI in a real browser (Debian's chromium, driven by Playwright) against the whole
local platform: the app the platform serves at its root, real runs with real Terraform, and
the reference run-task service over HTTP. Each test asserts what a person sees: text,
headings, the buttons offered.

Screenshots of the workspace list, a run with its log and checks, and a run stopped by a run
task are taken on the way; ``IACP_SCREENSHOTS=docs/images`` writes them where the README
shows them (otherwise they go to the test's temporary directory)."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from examples.runtask_service import RunTaskService
from iacp.principal import Role
from iacp.tokens.service import mint_token
from iacp.tokens.store import DynamoTokenStore
from local.platform import LocalPlatform
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import ENDED, new_workspace, run_status, start_run
from tests.e2e.test_run_tasks import HMAC_KEY, ONE_THING, applied_then_shrunk, attach

CHROMIUM = "/usr/bin/chromium"
# The flags this machine needs (docs/web-ui.md): no sandbox as root, and none of Chromium's
# own background traffic, which the closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# A run's statuses change in seconds; the UI polls every two.
RUN_TIMEOUT_MS = 90_000


# What `make web` builds (the Makefile's WEB_UI): without it the platform serves no app.
BUILT_UI = Path(__file__).resolve().parents[2] / "functions" / "web_ui" / "static" / "index.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not BUILT_UI.is_file():  # fail at once, saying why, not by a page that never loads
        pytest.fail(f"The web UI is not built ({BUILT_UI} is missing): run `make web` first.")
    # Playwright's launch() starts Chromium headless with a fresh, temporary profile.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, platform: LocalPlatform) -> Iterator[Page]:
    context = browser.new_context(
        base_url=platform.base_url, viewport={"width": 1280, "height": 900}
    )
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    # A page that broke its own Content-Security-Policy logs it as a console error.
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("IACP_SCREENSHOTS") or tmp_path)


@pytest.fixture(scope="module")
def service() -> Iterator[RunTaskService]:
    with RunTaskService(hmac_key=HMAC_KEY) as running:
        yield running


def token(platform: LocalPlatform, role: Role) -> str:
    store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])
    return mint_token(store, role=role, description="web ui", created_by="e2e").token


def sign_in(page: Page, secret: str) -> None:
    page.goto("/")
    page.get_by_label("API token").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Workspaces", level=1)).to_be_visible()


def open_run(page: Page, run_id: str) -> None:
    page.goto(f"/#/runs/{run_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(run_id)


def status_is(page: Page, status: str) -> None:
    expect(page.get_by_label("Run status")).to_have_text(
        re.compile(rf"\b{status}\b", re.I), timeout=RUN_TIMEOUT_MS
    )


def confirm(page: Page, button: str, comment: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Comment").fill(comment)
    dialog.get_by_role("button", name="Confirm").click()


def test_a_run_started_in_the_ui_streams_its_log_passes_its_check_and_applies(
    platform, admin: ApiClient, service: RunTaskService, page: Page, shots: Path
):
    ws = new_workspace(admin, "ui-apply", ONE_THING)
    attach(admin, ws, service.url, ["post_plan"], "mandatory", hmac_key=HMAC_KEY)
    sign_in(page, token(platform, Role.ADMIN))

    page.get_by_label("Filter by name").fill("ui-apply")
    page.get_by_role("link", name="ui-apply", exact=True).click()
    expect(page.get_by_role("heading", name="ui-apply", level=1)).to_be_visible()
    page.get_by_role("button", name="Start run").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Message").fill("From the web UI")
    dialog.get_by_role("button", name="Queue run").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Run ")
    plan_log = page.get_by_role("region", name="Plan log")
    expect(plan_log).to_contain_text("Plan: 1 to add", timeout=RUN_TIMEOUT_MS)
    checks = page.get_by_role("region", name="Run tasks")
    expect(checks).to_contain_text("passed", timeout=RUN_TIMEOUT_MS)
    status_is(page, "planned")
    changes = page.get_by_role("table", name="Resource changes")
    expect(changes).to_contain_text("terraform_data.keep")
    expect(changes).to_contain_text("create")
    page.screenshot(path=shots / "run.png", full_page=True)

    confirm(page, "Apply", "Looks right")
    status_is(page, "applied")
    expect(page.get_by_role("region", name="Apply log")).to_contain_text("Apply complete!")
    expect(page.get_by_role("region", name="Outputs")).to_be_visible()
    run_id = page.url.rsplit("/", 1)[-1]
    assert admin.get(f"/runs/{run_id}").json()["message"] == "From the web UI"


def test_a_run_stopped_by_a_mandatory_task_is_overridden_by_an_admin(
    platform, admin: ApiClient, service: RunTaskService, page: Page, shots: Path
):
    ws = applied_then_shrunk(admin, "ui-stopped")
    attach(admin, ws, service.url, ["post_plan"], "mandatory", hmac_key=HMAC_KEY)
    run_id = start_run(admin, ws)
    sign_in(page, token(platform, Role.ADMIN))
    open_run(page, run_id)

    checks = page.get_by_role("region", name="Run tasks")
    expect(checks).to_contain_text("failed", timeout=RUN_TIMEOUT_MS)
    override = page.get_by_role("button", name="Override", exact=True)
    expect(override).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Apply", exact=True)).to_have_count(0)
    page.screenshot(path=shots / "run-stopped.png", full_page=True)

    confirm(page, "Override", "The destroy is intended")
    status_is(page, "planned")
    expect(checks).to_contain_text("overridden")
    confirm(page, "Discard", "Not today")
    status_is(page, "discarded")


def test_a_read_token_is_offered_no_action_on_a_planned_run(platform, admin: ApiClient, page: Page):
    ws = new_workspace(admin, "ui-read", ONE_THING)
    run_id = start_run(admin, ws)
    run_status(admin, run_id, {"planned"} | ENDED)
    sign_in(page, token(platform, Role.READ))
    open_run(page, run_id)

    status_is(page, "planned")
    expect(page.get_by_role("region", name="Plan log")).to_contain_text("Plan: 1 to add")
    for action in ("Apply", "Discard", "Cancel"):
        expect(page.get_by_role("button", name=action, exact=True)).to_have_count(0)
    # Readable on a phone: the page itself never scrolls sideways (tables scroll in place).
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_label("Run status")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/#/workspaces/{ws}")
    expect(page.get_by_role("heading", name="ui-read", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Start run")).to_have_count(0)
    admin.post(f"/runs/{run_id}/actions/discard")


def test_a_writer_discards_a_planned_run(platform, admin: ApiClient, page: Page):
    ws = new_workspace(admin, "ui-discard", ONE_THING)
    run_id = start_run(admin, ws)
    run_status(admin, run_id, {"planned"} | ENDED)
    sign_in(page, token(platform, Role.WRITE))
    open_run(page, run_id)

    expect(page.get_by_role("button", name="Apply", exact=True)).to_be_enabled()
    confirm(page, "Discard", "Wrong branch")

    status_is(page, "discarded")
    expect(page.get_by_role("button", name="Apply", exact=True)).to_have_count(0)
    assert admin.get(f"/runs/{run_id}").json()["status"] == "discarded"


def test_a_bad_token_is_told_so_and_not_signed_in(page: Page):
    page.goto("/")
    page.get_by_label("API token").fill("at-nobody.not-a-secret")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("A valid API token is required")
    expect(page.get_by_role("heading", name="Workspaces", level=1)).to_have_count(0)
    assert page.evaluate("() => Object.keys(sessionStorage).length") == 0


def test_the_workspace_list_shows_latest_runs_and_locks_and_updates_itself(
    platform, admin: ApiClient, page: Page, shots: Path
):
    # The module's other tests left ui-apply applied and the others discarded.
    idle = new_workspace(admin, "ui-idle", ONE_THING)
    admin.post("/workspaces", {"name": "not-ui"})
    sign_in(page, token(platform, Role.READ))
    page.get_by_label("Filter by name").fill("ui-")

    rows = page.get_by_role("row")
    expect(rows.filter(has_text="ui-apply")).to_contain_text("applied")
    expect(rows.filter(has_text="ui-discard")).to_contain_text("discarded")
    expect(rows.filter(has_text="ui-idle")).to_contain_text("unlocked")
    expect(page.get_by_role("link", name="not-ui")).to_have_count(0)
    assert admin.post(f"/workspaces/{idle}/actions/lock", {"reason": "maintenance"}).status == 200

    # No reload: the list reads the workspaces again every few seconds.
    expect(rows.filter(has_text="ui-idle")).not_to_contain_text("unlocked", timeout=20_000)
    expect(rows.filter(has_text="ui-idle")).to_contain_text("locked")
    page.screenshot(path=shots / "workspaces.png", full_page=True)
    admin.post(f"/workspaces/{idle}/actions/unlock")
