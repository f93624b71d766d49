"""The lost-execution sweep (design §7): every ten minutes, runs whose workflow execution
ended ABORTED, FAILED or TIMED_OUT in the last two hours but are still open are reconciled,
in case the rule's event never reached ReconcileFunction."""

from datetime import timedelta
from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from iacp.observability import logger, tracer
    from iacp.services.machinery import RunMachinery
    from iacp.settings import WorkflowSettings
    from iacp.timestamps import utcnow

    machinery = RunMachinery.build(WorkflowSettings.from_env())
    reconciler = machinery.reconciler()

# Longer than the rule's own retries (an hour), so that the two overlap.
LOOK_BACK = timedelta(hours=2)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    ended = machinery.workflow.ended_without_success(since=utcnow() - LOOK_BACK)
    return {"reconciled": reconciler.sweep(ended)}
