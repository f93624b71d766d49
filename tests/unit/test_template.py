"""template.yaml keeps the security and reliability properties of the Foundation issue;
cfn-lint and `sam validate --lint` check its syntax (make lint-infra), these check intent."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from iacp.orchestration.workflow import FetchInput, PlanInput, RunnerInput
from iacp.settings import (
    ApiSettings,
    AuthorizerSettings,
    InventorySettings,
    NotificationSettings,
    RunEventsSettings,
    RunQueueSettings,
    RunTaskCallbackSettings,
    RunTaskSweepSettings,
    VcsEventsSettings,
    VcsFeedbackSettings,
    WorkflowSettings,
)
from local.template import Template
from runner import lambda_handler
from runner.settings import RunnerSettings

TEMPLATE = Template.load()
SUPPORTED_RUNTIMES = {"python3.12", "python3.13"}
# SAM policy templates that are scoped to one named resource by construction.
SCOPED_POLICY_TEMPLATES = {
    "DynamoDBReadPolicy": "TableName",
    "DynamoDBCrudPolicy": "TableName",
    "AWSSecretsManagerGetSecretValuePolicy": "SecretArn",
    "LambdaInvokePolicy": "FunctionName",
}
FUNCTION_SETTINGS: dict[str, type[BaseModel]] = {
    "ApiFunction": ApiSettings,
    "AuthorizerFunction": AuthorizerSettings,
    "WorkflowFunction": WorkflowSettings,
    "ReconcileFunction": WorkflowSettings,
    "ExecutionSweepFunction": WorkflowSettings,
    "QueueSweepFunction": RunQueueSettings,
    "RunTaskCallbackFunction": RunTaskCallbackSettings,
    "RunTaskSweepFunction": RunTaskSweepSettings,
    "VcsWebhookFunction": VcsEventsSettings,
    "RunEventsFunction": RunEventsSettings,
    "FollowUpFunction": RunQueueSettings,
    "CodeCommitEventsFunction": VcsEventsSettings,
    "NotificationFunction": NotificationSettings,
    "InventorySyncFunction": InventorySettings,
    "InventorySweepFunction": InventorySettings,
    "VcsFeedbackFunction": VcsFeedbackSettings,
}


def functions() -> dict[str, dict[str, Any]]:
    return TEMPLATE.resources("AWS::Serverless::Function")


def test_functions_run_a_supported_python_on_arm64():
    globals_ = TEMPLATE.body["Globals"]["Function"]
    for name in functions():
        props = TEMPLATE.properties(name)
        assert props.get("Runtime", globals_["Runtime"]) in SUPPORTED_RUNTIMES, name
        assert props.get("Architectures", globals_["Architectures"]) == ["arm64"], name


# Functions that call no AWS service: they get only what SAM gives every function (the
# basic execution role: their own logs).
NO_AWS_CALLS = {"WebUiFunction"}


@pytest.mark.parametrize("name", sorted(set(functions()) - NO_AWS_CALLS))
def test_each_function_has_only_scoped_permissions(name):
    policies = TEMPLATE.properties(name).get("Policies", [])
    assert policies, f"{name} has no policies: it would get SAM's defaults"
    for policy in policies:
        assert isinstance(policy, dict), f"{name}: managed policy {policy} is not least privilege"
        (kind, args), *_ = policy.items()
        if kind == "Statement":
            for statement in args:
                actions = (
                    statement["Action"]
                    if isinstance(statement["Action"], list)
                    else [statement["Action"]]
                )
                resources = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                assert not ("*" in actions and "*" in resources), f"{name}: * on *"
                assert all(a != "*" and not a.endswith(":*") for a in actions), f"{name}: {actions}"
            continue
        assert kind in SCOPED_POLICY_TEMPLATES, f"{name}: unreviewed policy template {kind}"
        assert "Ref" in args[SCOPED_POLICY_TEMPLATES[kind]], (
            f"{name}: {kind} not scoped to a resource"
        )


@pytest.mark.parametrize("name", sorted(functions()))
def test_each_function_environment_is_what_its_code_validates(name):
    template_names = set(TEMPLATE.function_environment(name)) - {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_METRICS_NAMESPACE",
        "AWS_RETRY_MODE",  # the SDK reads these two
        "AWS_MAX_ATTEMPTS",
        "PYDANTIC_DISABLE_PLUGINS",  # pydantic reads it
    }
    settings = FUNCTION_SETTINGS.get(name)
    validated = (
        set() if settings is None else {f.validation_alias for f in settings.model_fields.values()}
    )
    assert template_names == validated


@pytest.mark.parametrize("name", sorted(NO_AWS_CALLS))
def test_a_function_that_calls_no_aws_service_has_no_policies_or_settings(name):
    assert "Policies" not in TEMPLATE.properties(name)
    assert name not in FUNCTION_SETTINGS


@pytest.mark.parametrize("name", sorted(functions()))
def test_each_function_handler_exists(name):
    props = TEMPLATE.properties(name)
    module, _, attribute = props["Handler"].rpartition(".")
    source = Path(props["CodeUri"]) / f"{module}.py"
    defined = rf"^(def {attribute}\(|{attribute} = )"  # a function, or one that a factory made
    assert re.search(defined, source.read_text(), re.MULTILINE), source


@pytest.mark.parametrize("name", sorted(TEMPLATE.resources("AWS::DynamoDB::Table")))
def test_tables_are_on_demand_encrypted_recoverable_and_retained(name):
    table = TEMPLATE.body["Resources"][name]
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


def test_artifacts_bucket_is_versioned_encrypted_private_and_tls_only():
    props = TEMPLATE.properties("ArtifactsBucket")
    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    policy = TEMPLATE.properties("ArtifactsBucketPolicy")
    assert policy["Bucket"] == {"Ref": "ArtifactsBucket"}
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_state_versions_move_to_infrequent_access_after_30_days_and_other_rules_stay():
    rules = {
        rule["Id"]: rule
        for rule in TEMPLATE.properties("ArtifactsBucket")["LifecycleConfiguration"]["Rules"]
    }
    state = rules["state-versions-to-infrequent-access"]
    assert state["Status"] == "Enabled"
    assert state["Prefix"] == "state/"
    ia_after_30_days = [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]
    assert state["Transitions"] == ia_after_30_days
    assert state["NoncurrentVersionTransitions"] == ia_after_30_days
    assert "ExpirationInDays" not in state  # a state version is kept for good
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 90
    }
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }


def test_platform_secret_is_generated_never_literal():
    props = TEMPLATE.properties("PlatformSecret")
    assert "SecretString" not in props
    assert props["GenerateSecretString"]["PasswordLength"] >= 32


def test_api_uses_the_token_authorizer_with_a_short_cache():
    auth = TEMPLATE.properties("Api")["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["FunctionPayloadType"] == "TOKEN"
    assert 0 < authorizer["Identity"]["ReauthorizeEvery"] <= 60


def test_the_functions_publish_only_to_the_topics_the_api_accepts():
    """No sns:Publish on every topic: the API refuses a destination outside the functions'
    policies (NOTIFICATION_TOPIC_ARN_PREFIX), so the two must say the same."""
    accepted = TEMPLATE.function_environment("ApiFunction")["NOTIFICATION_TOPIC_ARN_PREFIX"]
    published = [
        statement["Resource"]
        for name in functions()
        for policy in TEMPLATE.properties(name).get("Policies", [])
        for statement in policy.get("Statement", [])
        if "sns:Publish" in statement["Action"]
    ]
    assert len(published) == 2  # the API's verify action, and the notification function
    assert all(resource == {"Fn::Sub": accepted["Fn::Sub"] + "*"} for resource in published)
    assert accepted["Fn::Sub"].endswith(":${AWS::StackName}-notify-")


def test_only_the_openapi_document_run_task_endpoints_and_webhooks_skip_the_authorizer():
    """The run-task endpoints check the result's access token themselves, the GitHub webhook
    its signature, the GitLab webhook its secret token: each is a function of its own, which
    serves nothing else. The API function serves only documents without secrets publicly: the
    OpenAPI document, and the TFE API's discovery document and ping (which clients call before
    they send a token); and the logs behind signed URLs, which check their signature
    themselves."""
    public = {
        (name, event["Properties"]["Path"])
        for name, function in functions().items()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
        and event["Properties"].get("Auth", {}).get("Authorizer") == "NONE"
    }
    assert ("ApiFunction", "/api/v1/openapi.json") in public
    webhooks = {
        ("VcsWebhookFunction", "/api/v1/webhooks/github/{connection_id}"),
        ("VcsWebhookFunction", "/api/v1/webhooks/gitlab/{connection_id}"),
    }
    assert webhooks <= public
    documents = {
        ("ApiFunction", "/api/v1/openapi.json"),
        ("ApiFunction", "/.well-known/terraform.json"),
        ("ApiFunction", "/api/v2/ping"),
    }
    assert documents <= public
    # A plan's or an apply's log, read with the signed URL the API gave (no token).
    assert ("ApiFunction", "/api/v2/logs/{proxy+}") in public
    # The web UI's files: they hold no data (every call the app makes carries the user's
    # token), and their function can call nothing (NO_AWS_CALLS).
    web_ui = {("WebUiFunction", "/"), ("WebUiFunction", "/{proxy+}")}
    assert web_ui <= public
    others = public - documents - web_ui - webhooks - {("ApiFunction", "/api/v2/logs/{proxy+}")}
    assert others
    for name, path in others:
        assert name == "RunTaskCallbackFunction"
        assert path.startswith("/api/v1/run-task-results/{result_id}")
    for function in ("RunTaskCallbackFunction", "VcsWebhookFunction", "WebUiFunction"):
        authorizers = [
            event["Properties"].get("Auth", {}).get("Authorizer")
            for event in TEMPLATE.properties(function)["Events"].values()
        ]
        assert set(authorizers) == {"NONE"}


def test_layer_dependencies_are_pinned_with_hashes():
    layer = TEMPLATE.properties("CommonLayer")
    requirements = (Path(layer["ContentUri"]) / "requirements.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.\[\]-]+)==\S+ \\$", requirements, re.MULTILINE)
    assert {"aws-lambda-powertools", "pydantic", "pyjwt", "cryptography"} <= set(pins)
    assert requirements.count("--hash=sha256:") >= len(pins)


@pytest.mark.parametrize(
    ("start", "task", "model"),
    [("StartPlan", "PlanRun", PlanInput), ("StartApply", "ApplyRun", RunnerInput)],
)
def test_the_workflow_hands_the_runner_every_setting_the_workflow_function_gives(
    start, task, model
):
    """What ``start_plan``/``start_apply`` return reaches the runner's environment only if the
    state machine's ResultSelector keeps it and its ECS task passes it on, by the name that
    ``RunnerSettings`` reads."""
    states = json.loads(Path("statemachine/run.asl.json").read_text())["States"]
    given = set(model.model_fields)

    kept = {key.removesuffix(".$") for key in states[start]["ResultSelector"]}
    container = states[task]["Parameters"]["Overrides"]["ContainerOverrides"][0]
    passed = {env["Name"]: env["Value.$"] for env in container["Environment"]}

    assert kept == given
    # The phase's time limit is the step's own (a lost task end or a hung runner errors
    # the run then); every other setting is the runner's.
    assert states[task]["TimeoutSecondsPath"] == "$.runner.timeout_seconds"
    runner_names = {name: field.alias for name, field in RunnerSettings.model_fields.items()}
    # The workflow's choice of executor and the task's size are not runner settings.
    given -= {"timeout_seconds", "execution", "cpu", "memory"}
    assert passed == {runner_names[name]: f"$.runner.{name}" for name in given}
    # The task's size: the workspace's runner_size, or the platform's (RunTask's overrides).
    overrides = states[task]["Parameters"]["Overrides"]
    assert (overrides["Cpu.$"], overrides["Memory.$"]) == ("$.runner.cpu", "$.runner.memory")
    # In Lambda, the runner gets the whole input: its handler names it as the task does.
    assert states[f"{task}InLambda"]["Parameters"]["Payload"]["runner.$"] == "$.runner"
    assert given <= set(lambda_handler._VARIABLES)


@pytest.mark.parametrize(
    ("start", "choice", "task", "after"),
    [
        ("StartPlan", "PlanWhere?", "PlanRun", "PreparePostPlanTasks"),
        ("StartApply", "ApplyWhere?", "ApplyRun", "RecordApply"),
    ],
)
def test_a_phase_runs_in_lambda_only_for_execution_lambda_and_fails_as_an_ecs_phase(
    start, choice, task, after
):
    states = json.loads(Path("statemachine/run.asl.json").read_text())["States"]
    in_lambda = states[f"{task}InLambda"]

    assert states[start]["Next"] == choice
    assert states[choice]["Default"] == task
    assert states[choice]["Choices"] == [
        {"Variable": "$.runner.execution", "StringEquals": "lambda", "Next": f"{task}InLambda"}
    ]
    assert in_lambda["Resource"] == "arn:aws:states:::lambda:invoke"
    assert in_lambda["Parameters"]["FunctionName"] == "${RunnerFunctionArn}"
    assert in_lambda["Next"] == states[task]["Next"] == after
    # Retried only when Lambda ran nothing (throttled), as ECS's only when it started nothing.
    assert [r["ErrorEquals"] for r in in_lambda["Retry"]] == [["Lambda.TooManyRequestsException"]]
    (catch,) = in_lambda["Catch"]
    assert (catch["ErrorEquals"], catch["Next"]) == (["States.ALL"], "RunnerFunctionFailed")
    marked = states["RunnerFunctionFailed"]
    assert marked["Next"] == "HandleFailure" and marked["Parameters"]["executor"] == "lambda"
    # The step outlasts the function (900 s), so the function's own end always comes first.
    function = TEMPLATE.properties("RunnerFunction")
    assert in_lambda["TimeoutSeconds"] > function["Timeout"]


def test_the_runner_function_is_the_runner_image_with_the_lambda_runtime_client():
    function = TEMPLATE.properties("RunnerFunction")
    limit = TEMPLATE.body["Parameters"]["LambdaRunnerTimeoutSeconds"]

    assert function["PackageType"] == "Image"
    assert function["Code"]["ImageUri"] == {"Ref": "RunnerImage"}
    assert function["ImageConfig"]["EntryPoint"] == ["python", "-m", "awslambdaric"]
    handler = function["ImageConfig"]["Command"][0]
    assert handler == "runner.lambda_handler.handler"
    assert callable(lambda_handler.handler)
    assert function["Architectures"] == ["arm64"]
    assert 2048 <= function["MemorySize"] <= 3008
    assert function["EphemeralStorage"]["Size"] >= 1024
    # The phase's limit, and the time the runner keeps to stop Terraform, fit in Lambda's.
    assert function["Timeout"] == 900
    assert limit["MaxValue"] + lambda_handler.STOP_GRACE_SECONDS <= function["Timeout"]
    assert (
        WorkflowSettings.model_fields["lambda_runner_timeout_seconds"].metadata[1].le
        == (limit["MaxValue"])
    )
    assert "awslambdaric==" in Path("runner/requirements.in").read_text()
    dockerfile = Path("runner/Dockerfile").read_text()
    assert "IACP_PROVIDER_CACHE=" in dockerfile and "TF_PLUGIN_CACHE_DIR=" in dockerfile


def test_the_runner_functions_role_only_logs_and_reads_the_run_workflows_executions():
    role = TEMPLATE.body["Resources"]["RunnerFunctionRole"]["Properties"]
    (policy,) = role["Policies"]
    statements = policy["PolicyDocument"]["Statement"]

    assert "ManagedPolicyArns" not in role
    assert {
        tuple(sorted(s["Action"])) if isinstance(s["Action"], list) else (s["Action"],)
        for s in statements
    } == {
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        ("states:DescribeExecution",),
    }
    described = next(s for s in statements if s["Action"] == "states:DescribeExecution")
    assert described["Resource"]["Fn::Sub"].endswith(":execution:${AWS::StackName}-run:*")
    # The state machine may invoke it, and only it besides the workflow function.
    machine = TEMPLATE.properties("RunStateMachine")
    invoked = [
        p["LambdaInvokePolicy"]["FunctionName"]
        for p in machine["Policies"]
        if "LambdaInvokePolicy" in p
    ]
    assert invoked == [{"Ref": "WorkflowFunction"}, {"Ref": "RunnerFunction"}]


def test_every_runner_phase_has_the_time_limit_its_start_gives():
    """A lost task end or a hung runner errors the run after ``RunnerPhaseTimeoutSeconds``:
    each runner step reads its limit from what the step before it returned."""
    states = json.loads(Path("statemachine/run.asl.json").read_text())["States"]

    assert states["StartRun"]["ResultSelector"]["runner.$"] == "$.Payload.fetch"
    assert states["FetchConfiguration"]["TimeoutSecondsPath"] == "$.fetch.runner.timeout_seconds"
    assert "timeout_seconds" in FetchInput.model_fields
    for start, task in (("StartPlan", "PlanRun"), ("StartApply", "ApplyRun")):
        assert states[start]["ResultSelector"]["timeout_seconds.$"] == "$.Payload.timeout_seconds"
        assert states[task]["TimeoutSecondsPath"] == "$.runner.timeout_seconds"


def test_a_custom_domain_serves_the_api_at_its_root_for_the_terraform_cli():
    """The CLI discovers the TFE API at https://HOST/.well-known/terraform.json: the stage is
    mapped to the domain's root (no BasePath), and the domain is the public base URL."""
    mapping = TEMPLATE.resources("AWS::ApiGateway::BasePathMapping")["ApiCustomDomainMapping"]
    domain = TEMPLATE.resources("AWS::ApiGateway::DomainName")["ApiCustomDomain"]

    assert mapping["Condition"] == domain["Condition"] == "HasCustomDomain"
    assert "BasePath" not in mapping["Properties"]
    assert mapping["Properties"]["RestApiId"] == {"Ref": "Api"}
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    public_url = TEMPLATE.function_environment("ApiFunction")["PUBLIC_BASE_URL"]
    assert "https://${CustomDomainName}" in json.dumps(public_url)


def test_the_runner_terraform_version_is_the_one_the_runners_image_installs():
    dockerfile = (Path(__file__).resolve().parents[2] / "runner" / "Dockerfile").read_text()
    (installed,) = re.findall(r"^ARG TERRAFORM_VERSION=(\S+)$", dockerfile, re.M)

    assert TEMPLATE.body["Parameters"]["RunnerTerraformVersion"]["Default"] == installed
