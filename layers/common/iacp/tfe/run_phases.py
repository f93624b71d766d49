"""A run as TFE splits it: the run, its plan, its apply and its task stages, each with an id
and a status of its own, all derived from iacp's one run (docs/terraform-cli.md, "Runs").

Ids carry the run's: ``run-<s>`` has the plan ``plan-<s>``, the apply ``apply-<s>`` and the
task stages ``ts-<s>-<stage>``, so no table holds them. Statuses follow from the run's
status and the statuses it went through (its status timestamps).
"""

import re
from collections.abc import Collection
from enum import StrEnum

from iacp.errors import NotFound, capped
from iacp.runs.models import Run
from iacp.runs.status import RunStatus
from iacp.runtasks.models import Stage

S = RunStatus
_SUFFIX = r"[A-Za-z0-9]{1,40}"


def _suffix(run_id: str) -> str:
    return run_id.removeprefix("run-")


def plan_id(run_id: str) -> str:
    return f"plan-{_suffix(run_id)}"


def apply_id(run_id: str) -> str:
    return f"apply-{_suffix(run_id)}"


def task_stage_id(run_id: str, stage: Stage) -> str:
    return f"ts-{_suffix(run_id)}-{stage.value}"


def run_of(resource_id: str, prefix: str) -> str:
    """The run of a plan's or an apply's id; an id of another shape is a 404."""
    found = re.fullmatch(rf"{prefix}-({_SUFFIX})", resource_id)
    if found is None:
        raise NotFound(f"No {prefix} {capped(resource_id)}.")
    return f"run-{found[1]}"


def stage_of(stage_id: str) -> tuple[str, Stage]:
    """The run and stage of a task stage's id; an id of another shape is a 404."""
    stages = "|".join(stage.value for stage in Stage)
    found = re.fullmatch(rf"ts-({_SUFFIX})-({stages})", stage_id)
    if found is None:
        raise NotFound(f"No task stage {capped(stage_id)}.")
    return f"run-{found[1]}", Stage(found[2])


def reached(run: Run, statuses: Collection[RunStatus]) -> bool:
    """The run is, or has been, in one of ``statuses``."""
    return run.status in statuses or any(s.value in run.status_timestamps for s in statuses)


PLAN_DONE = frozenset(
    {
        S.POST_PLAN_RUNNING,
        S.PLANNED,
        S.CONFIRMED,
        S.PRE_APPLY_RUNNING,
        S.APPLYING,
        S.POST_APPLY_RUNNING,
        S.APPLIED,
        S.PLANNED_AND_FINISHED,
        S.DISCARDED,
    }
)
APPLY_BEGUN = frozenset({S.CONFIRMED, S.PRE_APPLY_RUNNING, S.APPLYING})
APPLY_DONE = frozenset({S.POST_APPLY_RUNNING, S.APPLIED})
CANCELED = frozenset({S.CANCELED, S.FORCE_CANCELED})


class PhaseStatus(StrEnum):
    """TFE's statuses of a plan and of an apply (the ones iacp's runs come to)."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    ERRORED = "errored"
    CANCELED = "canceled"
    UNREACHABLE = "unreachable"

    @property
    def over(self) -> bool:
        """The phase will write no more: its log can end (ETX)."""
        return self in {
            PhaseStatus.FINISHED,
            PhaseStatus.ERRORED,
            PhaseStatus.CANCELED,
            PhaseStatus.UNREACHABLE,
        }


def plan_status(run: Run) -> PhaseStatus:
    """Finished once the run has gone past planning (to its post_plan tasks, to wait for
    confirmation, or on); errored or canceled if the run ended before."""
    if reached(run, PLAN_DONE):
        return PhaseStatus.FINISHED
    if run.status is S.ERRORED:
        return PhaseStatus.ERRORED
    if run.status in CANCELED:
        return PhaseStatus.CANCELED
    if run.status is S.PLANNING:
        return PhaseStatus.RUNNING
    return PhaseStatus.PENDING


def apply_status(run: Run) -> PhaseStatus:
    """Queued once confirmed, running while applying, finished once the state is recorded;
    unreachable when the run ended without applying (no changes, plan-only, discarded...)."""
    if reached(run, APPLY_DONE):
        return PhaseStatus.FINISHED
    if run.status is S.APPLYING:
        return PhaseStatus.RUNNING
    begun = reached(run, APPLY_BEGUN)
    if run.status is S.ERRORED and begun:
        return PhaseStatus.ERRORED
    if run.status in CANCELED and begun:
        return PhaseStatus.CANCELED
    if run.status.terminal:
        return PhaseStatus.UNREACHABLE
    return PhaseStatus.QUEUED if begun else PhaseStatus.PENDING


# Where a stage's point is in the run: it is behind the run once the run has come to one of
# these statuses.
_AFTER_STAGE = {
    Stage.PRE_PLAN: frozenset({S.PLANNING}) | PLAN_DONE,
    Stage.POST_PLAN: PLAN_DONE - {S.POST_PLAN_RUNNING},
    Stage.PRE_APPLY: frozenset({S.APPLYING}) | APPLY_DONE,
    Stage.POST_APPLY: frozenset({S.APPLIED}),
}
_AT_STAGE = {
    Stage.PRE_PLAN: S.PRE_PLAN_RUNNING,
    Stage.POST_PLAN: S.POST_PLAN_RUNNING,
    Stage.PRE_APPLY: S.PRE_APPLY_RUNNING,
    Stage.POST_APPLY: S.POST_APPLY_RUNNING,
}


def stage_passed_by(run: Run, stage: Stage) -> bool:
    return reached(run, _AFTER_STAGE[stage])


def at_stage(run: Run, stage: Stage) -> bool:
    return run.status is _AT_STAGE[stage]
