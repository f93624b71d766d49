"""Every minute: start the runs that wait for a workspace nobody is using (design §7's
periodic check; see ``RunQueue.start_waiting``)."""

from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from iacp.observability import logger, metrics
    from iacp.services.queue import run_queue
    from iacp.settings import RunQueueSettings

    queue = run_queue(RunQueueSettings.from_env())


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    waiting = queue.start_waiting()
    metrics.add_metric(name="WorkspacesWithWaitingRuns", unit=MetricUnit.Count, value=waiting)
    return {"workspaces_with_waiting_runs": waiting}
