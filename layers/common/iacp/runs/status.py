"""Run statuses (design §3), defined once, with the transitions the platform allows: the one
table every status change is checked against (the runs store writes it as the condition)."""

from collections.abc import Collection
from enum import StrEnum

from iacp.errors import Conflict


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
NOT_ENDED = frozenset(RunStatus) - TERMINAL

S = RunStatus
# Each status, and the statuses a run may come to it from (design §4). A run is created
# pending; it may end errored, canceled or force-canceled from any status it has not ended in.
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    S.PENDING: frozenset(),
    S.FETCHING: frozenset({S.PENDING}),
    S.PRE_PLAN_RUNNING: frozenset({S.FETCHING}),
    S.PLANNING: frozenset({S.FETCHING, S.PRE_PLAN_RUNNING}),
    S.POST_PLAN_RUNNING: frozenset({S.PLANNING}),
    # No changes, or plan-only; changes wait for a person, or go on to apply (auto-apply).
    S.PLANNED_AND_FINISHED: frozenset({S.PLANNING, S.POST_PLAN_RUNNING}),
    S.PLANNED: frozenset({S.PLANNING, S.POST_PLAN_RUNNING}),
    S.CONFIRMED: frozenset({S.PLANNED}),
    S.DISCARDED: frozenset({S.PLANNED}),
    S.PRE_APPLY_RUNNING: frozenset({S.CONFIRMED, S.PLANNING, S.POST_PLAN_RUNNING}),
    S.APPLYING: frozenset({S.CONFIRMED, S.PRE_APPLY_RUNNING, S.PLANNING, S.POST_PLAN_RUNNING}),
    S.POST_APPLY_RUNNING: frozenset({S.APPLYING}),
    S.APPLIED: frozenset({S.APPLYING, S.POST_APPLY_RUNNING}),
    S.ERRORED: NOT_ENDED,
    S.CANCELED: NOT_ENDED,
    S.FORCE_CANCELED: NOT_ENDED,
}
del S


def allowed_from(
    to: RunStatus, only_from: Collection[RunStatus] | None = None
) -> frozenset[RunStatus]:
    """The statuses a run may move to ``to`` from; ``only_from`` narrows them (e.g. a cancel
    that ends only a run that never started), and may not widen them."""
    allowed = TRANSITIONS[to]
    if only_from is None:
        return allowed
    beyond = set(only_from) - allowed
    if beyond:
        raise ValueError(f"{sorted(beyond)} cannot become {to}")
    return frozenset(only_from)


class InvalidTransition(Conflict):
    """The run is in a status it cannot move to ``to`` from (or no longer exists)."""

    def __init__(self, run_id: str, current: RunStatus | None, to: RunStatus):
        what = "no longer exists" if current is None else f"is {current}"
        super().__init__(f"Run {run_id} {what}; it cannot become {to}.")
        self.run_id = run_id
        self.current = current
        self.to = to
