"""The run workflow's steps: the state machine invokes this with {"step": name, ...}."""

from collections.abc import Callable
from typing import Any

from iacp.cold_start import collector_paused

# Everything the function loads at a cold start (iacp.cold_start says why).
with collector_paused():
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import BaseModel

    from iacp.observability import logger, tracer
    from iacp.orchestration.steps import RunNotRunnable, StepFailed, StepInterrupted
    from iacp.orchestration.task_stages import ConcludeInput, DispatchInput, StageRef
    from iacp.orchestration.workflow import ConfirmationInput, FailureInput, RunRef, StartInput
    from iacp.runs.status import InvalidTransition
    from iacp.services.machinery import RunMachinery
    from iacp.settings import WorkflowSettings

    machinery = RunMachinery.build(WorkflowSettings.from_env())
    workflow = machinery.run_workflow()
    stages = machinery.task_stages

STEPS: dict[str, tuple[type[BaseModel], Callable[[Any], BaseModel | None]]] = {
    "start": (StartInput, workflow.start),
    "prepare_tasks": (StageRef, stages.prepare),
    "dispatch_task": (DispatchInput, stages.dispatch),
    "conclude_tasks": (ConcludeInput, stages.conclude),
    "start_plan": (RunRef, workflow.start_plan),
    "record_plan": (RunRef, workflow.record_plan),
    "await_confirmation": (ConfirmationInput, workflow.await_confirmation),
    "start_apply": (RunRef, workflow.start_apply),
    "record_apply": (RunRef, workflow.record_apply),
    "finish": (RunRef, workflow.finish),
    "handle_failure": (FailureInput, workflow.handle_failure),
}


@logger.inject_lambda_context
# A runner phase's settings hold its credentials and the key to its variables: never traced.
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    model, step = STEPS[event["step"]]
    logger.append_keys(run_id=event.get("run_id"), step=event["step"])
    try:
        result = step(model.model_validate(event))
    except StepFailed:
        raise  # the run's own failure: the workflow's Catch turns it into the run's error
    except InvalidTransition as refused:  # the run moved elsewhere: retrying cannot help
        logger.warning("run transition refused", extra={"why": refused.detail})
        raise RunNotRunnable(refused.detail) from None
    except Exception as error:
        # Anything else (an AWS error, throttling) is outside the run: the workflow retries
        # the step under this one name, and every step is safe to run again.
        logger.exception("workflow step interrupted")
        raise StepInterrupted.of(event["step"], error) from error
    return {} if result is None else result.model_dump(mode="json")
