"""Reconciles runs whose workflow execution ended ABORTED, FAILED or TIMED_OUT (design §7);
invoked by the EventBridge rule on the run workflow's status changes."""

from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import BaseModel, Field

    from iacp.eventbridge import EventBridgeEvent
    from iacp.observability import logger, tracer
    from iacp.services.machinery import RunMachinery
    from iacp.settings import WorkflowSettings

    reconciler = RunMachinery.build(WorkflowSettings.from_env()).reconciler()


class ExecutionStatusChange(BaseModel):
    execution_arn: str = Field(alias="executionArn")
    status: str


class ExecutionStatusChangeEvent(EventBridgeEvent):
    detail: ExecutionStatusChange


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = ExecutionStatusChangeEvent.model_validate(event).detail
    reconciler.reconcile(change.execution_arn, change.status)
    return {}
