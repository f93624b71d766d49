"""The run's transitions (iacp.runs.status.TRANSITIONS) walked against design §3 and §4: every
pair of statuses, allowed or not, as the design's run describes it."""

import itertools

import pytest

from iacp.runs.status import TERMINAL, TRANSITIONS, RunStatus, allowed_from

# Design §4's run, edge by edge: (from, to).
RUN = """
pending            fetching
fetching           pre_plan_running
fetching           planning
pre_plan_running   planning
planning           post_plan_running
planning           planned_and_finished
post_plan_running  planned_and_finished
planning           planned
post_plan_running  planned
planned            confirmed
planned            discarded
planning           pre_apply_running
post_plan_running  pre_apply_running
confirmed          pre_apply_running
planning           applying
post_plan_running  applying
confirmed          applying
pre_apply_running  applying
applying           post_apply_running
applying           applied
post_apply_running applied
"""
ENDINGS = {RunStatus.ERRORED, RunStatus.CANCELED, RunStatus.FORCE_CANCELED}
EDGES = {
    (RunStatus(a), RunStatus(b)) for a, b in (line.split() for line in RUN.strip().splitlines())
} | {(a, b) for a in RunStatus if a not in TERMINAL for b in ENDINGS}


@pytest.mark.parametrize(("from_", "to"), list(itertools.product(RunStatus, RunStatus)))
def test_every_pair_of_statuses_is_allowed_exactly_when_the_design_says(from_, to):
    assert (from_ in TRANSITIONS[to]) == ((from_, to) in EDGES)


def test_an_ended_run_goes_nowhere_and_every_status_can_be_reached():
    assert {s for s in RunStatus if not any(s in TRANSITIONS[t] for t in RunStatus)} == TERMINAL
    reached = {RunStatus.PENDING}
    while grown := {t for t in RunStatus if TRANSITIONS[t] & reached} - reached:
        reached |= grown
    assert reached == set(RunStatus)  # every status is reachable from pending


def test_a_call_site_may_narrow_the_allowed_statuses_but_never_widen_them():
    assert allowed_from(RunStatus.CANCELED, {RunStatus.PENDING}) == {RunStatus.PENDING}
    with pytest.raises(ValueError, match="cannot become confirmed"):
        allowed_from(RunStatus.CONFIRMED, {RunStatus.APPLYING})
