"""``iacp run watch``: a run followed live, by polling the API.

Each round reads the run, then prints what is new: the statuses it passed through (in the
order a run goes), the fetch log of a run from a repository, the plan log and then the apply
log as they are written, and each run-task stage's progress with its results, and the
outcomes of the results that finished.
It stops where a person has to act or the run has ended; the exit code says which.
"""

import sys
import time
from collections.abc import Callable
from typing import Any

from iacp_cli import errors
from iacp_cli.client import Client, JsonObject, segment
from iacp_cli.errors import CliError

# The statuses in the order a run passes through them (the endings last).
ORDER = (
    "pending",
    "fetching",
    "pre_plan_running",
    "planning",
    "post_plan_running",
    "planned",
    "confirmed",
    "pre_apply_running",
    "applying",
    "post_apply_running",
    "applied",
    "planned_and_finished",
    "discarded",
    "errored",
    "canceled",
    "force_canceled",
)
TERMINAL = frozenset(
    {"applied", "planned_and_finished", "discarded", "errored", "canceled", "force_canceled"}
)
# Statuses a run reaches only once the fetch (the plan, the apply) has ended: its log is whole.
AFTER_FETCH = frozenset(ORDER[ORDER.index("fetching") + 1 :])
AFTER_PLAN = frozenset(ORDER[ORDER.index("post_plan_running") :])
AFTER_APPLY = frozenset({"post_apply_running", "applied", "errored", "canceled", "force_canceled"})
# The stages at which a mandatory task that does not pass stops the run.
STOPPING_STAGES = frozenset({"pre_plan", "post_plan", "pre_apply"})
FINAL_RESULTS = frozenset({"passed", "failed", "errored", "timeout", "canceled", "overridden"})
EXIT_CODES = {
    "applied": errors.OK,
    "planned_and_finished": errors.OK,
    "discarded": errors.OK,
    "canceled": errors.CANCELED,
    "force_canceled": errors.CANCELED,
}
EXIT_CODES_HELP = """exit codes:
  0  the run applied, finished its plan (plan only, or no changes), was discarded,
     or is planned and waits for `iacp run apply` / `iacp run discard`
  1  the run errored, or the CLI failed (the API refused, the platform is unreachable,
     --timeout passed)
  2  wrong usage
  3  a run task stopped the run; it waits for `iacp run override` or `iacp run cancel`
  4  the run was canceled
"""


class Watcher:
    def __init__(
        self,
        client: Client,
        run_id: str,
        *,
        interval: float = 0.5,
        timeout: float | None = None,
        stop_at_planned: bool = True,
        write: Callable[[str], object] | None = None,
        flush: Callable[[], object] | None = None,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        """``stop_at_planned``: stop when the run waits for confirmation (false after
        confirming it, when a stale read might still show ``planned``). ``write`` and
        ``flush``: standard output's, as it is when called."""
        self.client = client
        self.run_id = run_id
        self.interval = interval
        self.timeout = timeout
        self.stop_at_planned = stop_at_planned
        self._write = write or (lambda text: sys.stdout.write(text))
        self._flush = flush or (lambda: sys.stdout.flush())
        self._sleep, self._clock = sleep, clock
        self._at_line_start = True
        self._statuses: set[str] = set()
        self._offsets = {"fetch": 0, "plan": 0, "apply": 0}
        self._drained: set[str] = set()  # the phases whose log has been printed whole
        self._stages: dict[str, str] = {}
        self._results: dict[str, tuple[str, str]] = {}
        self._warnings: set[tuple[str, str]] = set()
        self._outcomes_shown: set[str] = set()

    def watch(self) -> int:
        """Follow the run until it stops; the exit code (or a ``CliError``)."""
        deadline = None if self.timeout is None else self._clock() + self.timeout
        run = self._run()
        options = describe_options(run)
        self.line(
            f"-- run {self.run_id}: {_operation(run)} in workspace {run['workspace_id']}"
            + (f" ({options})" if options else "")
        )
        try:
            while True:
                self._show(run)
                code = self._verdict(run)
                if code is not None:
                    return code
                if deadline is not None and self._clock() >= deadline:
                    raise CliError(
                        f"stopped watching after {self.timeout:g} s; run {self.run_id} is "
                        f"{run['status']} and goes on",
                        hint=f"`iacp run watch {self.run_id}` follows it again",
                    )
                self._sleep(self.interval)
                run = self._run()
        except KeyboardInterrupt:
            raise CliError(
                f"stopped watching; run {self.run_id} goes on",
                exit_code=errors.INTERRUPTED,
                hint=f"`iacp run watch {self.run_id}` follows it again",
            ) from None

    # --- one round ------------------------------------------------------------------------

    def _run(self) -> JsonObject:
        run: JsonObject = self.client.get(f"/runs/{segment(self.run_id)}")
        return run

    def _show(self, run: JsonObject) -> None:
        status = str(run["status"])
        timestamps = run.get("status_timestamps") or {}
        stages = {
            str(stage["stage"]): stage
            for stage in run.get("task_stages") or []
            # The platform may list a stage without tasks (passed, nothing in it): skip it.
            if stage.get("results") or stage.get("warnings") or stage.get("status") != "passed"
        }
        passed = [s for s in ORDER if (s in timestamps or s == status) and s not in self._statuses]
        fetched = bool(run.get("vcs"))  # a run from a repository: git's log comes first
        for reached in passed:
            if fetched and reached in AFTER_FETCH:
                self._drain("fetch")
            if reached in AFTER_PLAN and "planning" in timestamps:
                self._drain("plan")
            if reached in AFTER_APPLY and "applying" in timestamps:
                self._drain("apply")
            self._statuses.add(reached)
            self.line(f"-- status: {reached}")
            # A stage's tasks right under its status (pre_plan_running: the pre_plan tasks).
            stage = stages.get(reached.removesuffix("_running"))
            if stage is not None:
                self._show_stage(stage)
        if status == "fetching" and fetched:
            self._follow("fetch")
        elif status == "planning":
            self._follow("plan")
        elif status == "applying":
            self._follow("apply")
        for stage in stages.values():
            self._show_stage(stage)

    def _verdict(self, run: JsonObject) -> int | None:
        """The exit code if the watch ends here, else None."""
        status = str(run["status"])
        error = run.get("error") or None
        if status == "errored":
            where = f" at {error['stage']}" if error else ""
            message = f": {error['message']}" if error else ""
            raise CliError(f"run {self.run_id} errored{where}{message}")
        if status in TERMINAL:
            code = EXIT_CODES[status]
            if code != errors.OK:
                raise CliError(f"run {self.run_id} was {status.replace('_', ' ')}", exit_code=code)
            return code
        if error and error.get("stage") in STOPPING_STAGES:
            raise CliError(
                f"run {self.run_id} stopped at {error['stage']}: {error['message']}",
                exit_code=errors.STOPPED_BY_TASK,
                hint=(
                    f"`iacp run override {self.run_id} --comment WHY` lets it go on (failed "
                    f"mandatory tasks need an admin token), `iacp run cancel {self.run_id}` "
                    "ends it"
                ),
            )
        if status == "planned" and self.stop_at_planned and not run.get("auto_apply"):
            self.line(
                f"-- the plan ({_changes(run)}) waits for confirmation: "
                f"`iacp run apply {self.run_id}` applies it, "
                f"`iacp run discard {self.run_id}` discards it"
            )
            return errors.OK
        return None

    # --- logs -------------------------------------------------------------------------------

    def _follow(self, phase: str) -> bool:
        """Print what the phase's log has gained; whether it is complete."""
        if phase in self._drained:
            return True
        page = self.client.get(
            f"/runs/{segment(self.run_id)}/logs",
            {"phase": phase, "offset": self._offsets[phase]},
        )
        data = str(page.get("data") or "")
        if data:
            self._write(data)
            self._flush()
            self._at_line_start = data.endswith("\n")
        self._offsets[phase] = int(page.get("next_offset", self._offsets[phase]))
        complete = bool(page.get("complete"))
        if complete:
            self._drained.add(phase)
        return complete or not data

    def print_log(self, phase: str) -> bool:
        """Print a phase's log as it is now, once, whole (without following it); whether
        there was any. Ends on a line's end."""
        self._drain(phase)
        if not self._at_line_start:
            self._write("\n")
            self._flush()
            self._at_line_start = True
        return self._offsets[phase] > 0

    def _drain(self, phase: str) -> None:
        """The rest of a phase that has ended: until complete, or nothing more arrives."""
        while phase not in self._drained:
            if self._follow(phase):
                self._drained.add(phase)

    # --- run tasks --------------------------------------------------------------------------

    def _show_stage(self, stage: JsonObject) -> None:
        """What is new in a stage: its status, its results, their outcomes, its warnings."""
        name, status = str(stage["stage"]), str(stage["status"])
        changed = self._stages.get(name) != status
        self._stages[name] = status
        # A stage's start before its results, its verdict after them and their outcomes.
        if changed and status == "running":
            self.line(f"-- {name} run tasks: {status}")
        finished: list[str] = []
        for result in stage.get("results") or []:
            finished += self._show_result(result)
        if finished:
            self._show_outcomes(finished)
        for warning in stage.get("warnings") or []:
            if (name, warning) not in self._warnings:
                self._warnings.add((name, warning))
                self.line(f"   warning: {warning}")
        if changed and status != "running":
            self.line(f"-- {name} run tasks: {status.replace('_', ' ')}")

    def _show_result(self, result: JsonObject) -> list[str]:
        """Print a result that changed; its id if its outcomes are now due."""
        result_id, status = str(result["id"]), str(result["status"])
        message = str(result.get("message") or "")
        if self._results.get(result_id) != (status, message):
            self._results[result_id] = (status, message)
            text = f"   {result['run_task_name']} ({result['enforcement_level']}): {status}"
            self.line(f"{text}: {message}" if message else text)
        if status in FINAL_RESULTS and result_id not in self._outcomes_shown:
            return [result_id]
        return []

    def _show_outcomes(self, result_ids: list[str]) -> None:
        results = self.client.list_all(f"/runs/{segment(self.run_id)}/task-results")
        for result in results:
            if result.get("id") not in result_ids:
                continue
            self._outcomes_shown.add(str(result["id"]))
            outcomes = result.get("outcomes") or []
            if outcomes or result.get("url"):
                self.line(f"   {result['run_task_name']} at {result['stage']}:")
            for outcome in outcomes:
                self._show_outcome(outcome)
            if result.get("url"):
                self.line(f"     details: {result['url']}")

    def _show_outcome(self, outcome: JsonObject) -> None:
        label = str(outcome.get("description") or "")
        if outcome.get("outcome_id") and outcome["outcome_id"] not in label:
            label = f"{outcome['outcome_id']}: {label}"
        tags = _tags(outcome.get("tags") or {})
        self.line(f"     - {label}{f'  [{tags}]' if tags else ''}")
        for body_line in str(outcome.get("body") or "").strip("\n").splitlines():
            self.line(f"       {body_line}".rstrip())
        if outcome.get("url"):
            self.line(f"       {outcome['url']}")

    # --- printing ---------------------------------------------------------------------------

    def line(self, text: str) -> None:
        """A line of the watch's own, on a line of its own even after a partial log line."""
        self._write(("" if self._at_line_start else "\n") + text + "\n")
        self._flush()
        self._at_line_start = True


def _operation(run: JsonObject) -> str:
    return "plan only" if run.get("operation") == "plan_only" else "plan and apply"


def describe_options(run: JsonObject) -> str:
    """A run's plan options and its variables' keys in words (``destroy plan; targets: a.b,
    c.d``); empty for a plain run. A field a run lacks (an older run) has its default."""
    words = ["saved plan"] if run.get("save_plan") else []
    if run.get("is_destroy"):
        words.append("destroy plan")
    if run.get("refresh_only"):
        words.append("refresh-only plan")
    if run.get("refresh") is False:
        words.append("no refresh")
    if run.get("target_addrs"):
        words.append(f"targets: {', '.join(run['target_addrs'])}")
    if run.get("replace_addrs"):
        words.append(f"replacing: {', '.join(run['replace_addrs'])}")
    if run.get("allow_empty_apply"):
        words.append("applies even without changes")
    if run.get("variable_keys"):
        words.append(f"run variables: {', '.join(run['variable_keys'])}")
    return "; ".join(words)


def _changes(run: JsonObject) -> str:
    counts = (
        run.get("resource_additions") or 0,
        run.get("resource_changes") or 0,
        run.get("resource_destructions") or 0,
    )
    return "{} to add, {} to change, {} to destroy".format(*counts)


def _tags(tags: dict[str, Any]) -> str:
    """``{"Action": [{"label": "delete", "level": "error"}]}`` as ``Action: delete (error)``."""
    shown: list[str] = []
    for name, values in tags.items():
        labels = [
            f"{v.get('label')} ({v['level']})" if v.get("level") else str(v.get("label"))
            for v in values or []
            if isinstance(v, dict)
        ]
        shown.append(f"{name}: {', '.join(labels)}")
    return "; ".join(shown)
