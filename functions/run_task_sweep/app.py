"""Every minute: run-task results past their deadline become ``timeout`` and their waiting
workflow steps resume (``iacp.orchestration.task_sweep``)."""

from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from iacp.observability import logger, metrics
    from iacp.orchestration.task_sweep import sweep_timed_out_results
    from iacp.orchestration.workflow_client import resume
    from iacp.runtasks.results import DynamoTaskResultStore
    from iacp.settings import RunTaskSweepSettings

    results = DynamoTaskResultStore(RunTaskSweepSettings.from_env().task_results_table)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = sweep_timed_out_results(results, resume)
    metrics.add_metric(name="TaskResultsTimedOut", unit=MetricUnit.Count, value=report.timed_out)
    return {"read": report.read, "timed_out": report.timed_out}
