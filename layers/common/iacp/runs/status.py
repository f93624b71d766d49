"""Run statuses (design §3), defined once, with the transitions the platform allows."""

from enum import StrEnum


class RunStatus(StrEnum):
    PENDING = "pending"
    FETCHING = "fetching"
    PRE_PLAN_RUNNING = "pre_plan_running"
    PLANNING = "planning"
    POST_PLAN_RUNNING = "post_plan_running"
    PLANNED = "planned"
    CONFIRMED = "confirmed"
    PRE_APPLY_RUNNING = "pre_apply_running"
    APPLYING = "applying"
    POST_APPLY_RUNNING = "post_apply_running"
    APPLIED = "applied"
    PLANNED_AND_FINISHED = "planned_and_finished"
    DISCARDED = "discarded"
    ERRORED = "errored"
    CANCELED = "canceled"
    FORCE_CANCELED = "force_canceled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {
        RunStatus.PLANNED_AND_FINISHED,
        RunStatus.APPLIED,
        RunStatus.DISCARDED,
        RunStatus.ERRORED,
        RunStatus.CANCELED,
        RunStatus.FORCE_CANCELED,
    }
)
ACTIVE = frozenset(RunStatus) - TERMINAL - {RunStatus.PENDING}
"""Statuses of a run that has started and not ended."""
