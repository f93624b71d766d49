"""Reading template.yaml and creating its stateful resources in moto (or any endpoint)."""

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import CreateTableInputTypeDef

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account

# CloudFormation's short-form tags (!Ref X, !GetAtt X.Y, !Sub ...), read as their long form.
_TAGS = (
    "Ref",
    "Condition",
    "GetAtt",
    "Sub",
    "Join",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Select",
    "Split",
)
# Their long form is the bare name ({"Ref": X}, {"Condition": X}); the others', "Fn::Name".
_BARE = ("Ref", "Condition")


class _CfnLoader(yaml.SafeLoader):
    pass


def _long_form(name: str) -> Any:
    key = name if name in _BARE else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag in _TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _long_form(_tag))


@dataclass
class Template:
    body: dict[str, Any]

    @classmethod
    def load(cls, path: Path = TEMPLATE_PATH) -> "Template":
        return cls(yaml.load(path.read_text(), Loader=_CfnLoader))  # noqa: S506 -- safe loader subclass

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource
            for name, resource in self.body["Resources"].items()
            if resource["Type"] == resource_type
        }

    def properties(self, logical_id: str) -> dict[str, Any]:
        return dict(self.body["Resources"][logical_id].get("Properties", {}))

    def functions(self) -> dict[str, dict[str, Any]]:
        """SAM's functions and the container-image functions (``AWS::Lambda::Function``,
        ``PackageType: Image``), by logical id."""
        images = {
            name: resource
            for name, resource in self.resources("AWS::Lambda::Function").items()
            if resource.get("Properties", {}).get("PackageType") == "Image"
        }
        return self.resources("AWS::Serverless::Function") | images

    def function_environment(self, logical_id: str) -> dict[str, Any]:
        sam = self.body["Resources"][logical_id]["Type"] == "AWS::Serverless::Function"
        globals_ = self.body.get("Globals", {}).get("Function", {}) if sam else {}
        merged = dict(globals_.get("Environment", {}).get("Variables", {}))
        own = self.properties(logical_id).get("Environment", {}).get("Variables", {})
        merged.update(own)
        return merged


# Local stand-ins for the parameters a deployment must be given.
LOCAL_PARAMETERS = {
    "RunnerImage": "iacp-runner:local",
    "RunnerSubnet1": "subnet-0000000000000local1",
    "RunnerSubnet2": "subnet-0000000000000local2",
    "RunnerSecurityGroup": "sg-000000000000local",
    # Local mode's run-task services and receivers are on 127.0.0.1, over plain HTTP.
    "OutboundPrivateAddresses": "allow",
    "AllowPlainHttpUrls": "true",
    # A report to a repository host that failed is tried again within seconds, not minutes.
    "VcsFeedbackRetrySeconds": "2",
}


class _NoValue:
    """What ``!Ref AWS::NoValue`` resolves to: the property or list item is left out."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def _comparable(value: Any) -> Any:
    """``Fn::Equals`` compares values as CloudFormation passes them, i.e. scalars as text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


@dataclass
class Provisioned:
    """The template's resources as CloudFormation would name them in a stack called
    ``prefix``, and their creation with the current boto3 endpoint (moto).

    Names are fixed by the prefix, so handlers can be loaded before the resources exist. A
    secret is referred to by name (GetSecretValue takes a name or an ARN) for the same reason.
    """

    template: Template
    prefix: str = "iacp-local"
    parameters: dict[str, str] = field(default_factory=lambda: dict(LOCAL_PARAMETERS))

    @cached_property
    def refs(self) -> dict[str, str]:
        """What ``!Ref`` of each resource gives (fixed by the template and the prefix)."""
        names: dict[str, str] = {}
        for logical_id, resource in self.template.body["Resources"].items():
            kind = resource["Type"]
            name = f"{self.prefix}-{logical_id}"
            if kind == "AWS::S3::Bucket":
                name = name.lower()
            elif kind == "AWS::ECS::TaskDefinition":
                name = self._arn("ecs", f"task-definition/{self._family(logical_id)}:1")
            elif kind == "AWS::Serverless::StateMachine":
                name = self._arn("states", f"stateMachine:{self.state_machine_name(logical_id)}")
            names[logical_id] = name
        return names

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.template.body["Resources"][logical_id]["Type"]
        name = self.refs[logical_id]
        arns = {
            "AWS::Serverless::Function": lambda: self._arn("lambda", f"function:{name}"),
            "AWS::Lambda::Function": lambda: self._arn("lambda", f"function:{name}"),
            "AWS::ECS::Cluster": lambda: self._arn("ecs", f"cluster/{name}"),
            "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": lambda: self._arn("dynamodb", f"table/{name}"),
            "AWS::IAM::Role": lambda: f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::SQS::Queue": lambda: self._arn("sqs", name),
            "AWS::Events::EventBus": lambda: self._arn("events", f"event-bus/{name}"),
        }
        if attribute != "Arn" or kind not in arns:
            raise KeyError(f"!GetAtt {logical_id}.{attribute} is not emulated")
        return arns[kind]()

    @property
    def pseudo_parameters(self) -> dict[str, str]:
        return {
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": self.prefix,
            "AWS::URLSuffix": "amazonaws.com",
        }

    def resolve(self, value: Any) -> Any:
        """A template value as CloudFormation would resolve it here: ``!Ref`` of a resource,
        a parameter (its local value, else its default) or a pseudo parameter; ``!GetAtt``
        of an ARN; ``!Sub``; ``!If`` on one of the template's conditions. Lists and mappings
        are resolved throughout; an entry that resolves to ``AWS::NoValue`` is left out."""
        if isinstance(value, dict):
            if "Ref" in value:
                name = str(value["Ref"])
                return NO_VALUE if name == "AWS::NoValue" else self._ref(name)
            if "Fn::GetAtt" in value:
                logical_id, attribute = value["Fn::GetAtt"]
                return self.get_att(logical_id, attribute)
            if "Fn::Sub" in value:
                return self._sub(value["Fn::Sub"])
            if "Fn::If" in value:
                condition, if_true, if_false = value["Fn::If"]
                return self.resolve(if_true if self.condition(str(condition)) else if_false)
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        return value

    def condition(self, name: str) -> bool:
        """The value of one of the template's ``Conditions`` with these parameters."""
        return self._evaluate({"Condition": name}, ())

    def _evaluate(self, expression: Any, seen: tuple[str, ...]) -> bool:
        """A condition function (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, or a
        ``Condition`` reference); ``seen`` are the conditions being evaluated, for cycles."""
        if not isinstance(expression, dict) or len(expression) != 1:
            raise ValueError(f"not a condition function: {expression!r}")
        (function, arguments), *_ = expression.items()
        if function == "Condition":
            name = str(arguments)
            if name in seen:
                raise ValueError(f"the conditions {' -> '.join((*seen, name))} form a cycle")
            conditions = self.template.body.get("Conditions", {})
            if name not in conditions:
                raise KeyError(f"no condition {name!r} in the template")
            return self._evaluate(conditions[name], (*seen, name))
        if function == "Fn::Equals":
            left, right = (self.resolve(argument) for argument in arguments)
            return bool(_comparable(left) == _comparable(right))
        if function == "Fn::Not":
            (operand,) = arguments
            return not self._evaluate(operand, seen)
        if function == "Fn::And":
            return all(self._evaluate(operand, seen) for operand in arguments)
        if function == "Fn::Or":
            return any(self._evaluate(operand, seen) for operand in arguments)
        raise ValueError(f"{function} is not a condition function")

    def _sub(self, argument: str | list[Any]) -> str:
        """``Fn::Sub``: its string form, or its list form with a variable mapping."""
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: str(self.resolve(value)) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is the text ${Literal}
                return f"${{{name[1:]}}}"
            return values[name] if name in values else self._ref(name)

        return re.sub(r"\$\{([^}]+)\}", substitute, str(text))

    def _ref(self, name: str) -> str:
        if name in self.pseudo_parameters:
            return self.pseudo_parameters[name]
        if "." in name:
            return self.get_att(*name.split(".", 1))
        parameters = self.template.body.get("Parameters", {})
        if name in parameters:
            if name in self.parameters:
                return str(self.parameters[name])
            return str(parameters[name].get("Default", ""))
        return self.refs[name]

    def environment(self, function_id: str) -> dict[str, str]:
        env = self.resolve(self.template.function_environment(function_id))
        return {name: str(value) for name, value in env.items()}

    def state_machine_name(self, logical_id: str) -> str:
        name = self.template.properties(logical_id).get("Name")
        return str(self.resolve(name)) if name else f"{self.prefix}-{logical_id}"

    def state_machine_definition(self, logical_id: str) -> str:
        """The ASL file with the template's DefinitionSubstitutions applied."""
        props = self.template.properties(logical_id)
        text = (TEMPLATE_PATH.parent / str(props["DefinitionUri"])).read_text()
        for name, value in props.get("DefinitionSubstitutions", {}).items():
            text = text.replace(f"${{{name}}}", str(self.resolve(value)))
        return text

    def create(self) -> None:
        """Create the template's tables (with their streams), bucket, secret, event buses,
        queues, ECS cluster and task definitions, and state machines with the current boto3
        endpoint (e.g. moto)."""
        refs = self.refs
        dynamodb = boto3.client("dynamodb")
        for logical_id, resource in self.template.resources("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            request: dict[str, Any] = {k: props[k] for k in _TABLE_KEYS if k in props}
            if "StreamSpecification" in props:
                request["StreamSpecification"] = {"StreamEnabled": True} | props[
                    "StreamSpecification"
                ]
            table: CreateTableInputTypeDef = {"TableName": refs[logical_id], **request}  # type: ignore[typeddict-item]
            dynamodb.create_table(**table)
        s3 = boto3.client("s3")
        for logical_id in self.template.resources("AWS::S3::Bucket"):
            s3.create_bucket(Bucket=refs[logical_id])
        secrets = boto3.client("secretsmanager")
        for logical_id, resource in self.template.resources("AWS::SecretsManager::Secret").items():
            length = int(resource["Properties"]["GenerateSecretString"]["PasswordLength"])
            value = secrets.get_random_password(PasswordLength=length, ExcludePunctuation=True)
            secrets.create_secret(Name=refs[logical_id], SecretString=value["RandomPassword"])
        events = boto3.client("events")
        for logical_id in self.template.resources("AWS::Events::EventBus"):
            events.create_event_bus(Name=refs[logical_id])
        sqs = boto3.client("sqs")
        queues = self.template.resources("AWS::SQS::Queue")
        urls = {
            logical_id: sqs.create_queue(
                QueueName=refs[logical_id],
                Attributes={
                    key: str(props[key])
                    for key in ("VisibilityTimeout", "MessageRetentionPeriod")
                    if key in (props := resource.get("Properties", {}))
                },
            )["QueueUrl"]
            for logical_id, resource in queues.items()
        }
        # Redrive policies once every queue exists: they name their dead-letter queue.
        for logical_id, resource in queues.items():
            redrive = resource.get("Properties", {}).get("RedrivePolicy")
            if redrive is not None:
                sqs.set_queue_attributes(
                    QueueUrl=urls[logical_id],
                    Attributes={"RedrivePolicy": json.dumps(self.resolve(redrive))},
                )
        for logical_id, resource in self.template.resources("AWS::Events::Rule").items():
            props = resource["Properties"]
            bus = self.resolve(props.get("EventBusName", "default"))
            events.put_rule(
                Name=refs[logical_id],
                EventBusName=bus,
                EventPattern=json.dumps(props["EventPattern"]),
            )
            events.put_targets(
                Rule=refs[logical_id],
                EventBusName=bus,
                Targets=[
                    {"Id": target["Id"], "Arn": self.resolve(target["Arn"])}
                    for target in props["Targets"]
                ],
            )
        ecs = boto3.client("ecs")
        for logical_id in self.template.resources("AWS::ECS::Cluster"):
            ecs.create_cluster(clusterName=refs[logical_id])
        for logical_id in self.template.resources("AWS::ECS::TaskDefinition"):
            ecs.register_task_definition(**self._task_definition(logical_id))
        stepfunctions = boto3.client("stepfunctions")
        for logical_id in self.template.resources("AWS::Serverless::StateMachine"):
            stepfunctions.create_state_machine(
                name=self.state_machine_name(logical_id),
                definition=self.state_machine_definition(logical_id),
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/{self.prefix}-{logical_id}Role",
            )

    def use_default_network(self) -> None:
        """Run Fargate tasks in the endpoint's default VPC: moto checks that the subnets and
        security group of a task exist. Call before ``create`` if tasks will really run."""
        ec2 = boto3.client("ec2")
        subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
        subnet_ids = sorted(s["SubnetId"] for s in subnets["Subnets"])
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["default"]}]
        )
        self.parameters.update(
            RunnerSubnet1=subnet_ids[0],
            RunnerSubnet2=subnet_ids[1 % len(subnet_ids)],
            RunnerSecurityGroup=groups["SecurityGroups"][0]["GroupId"],
        )

    def _task_definition(self, logical_id: str) -> Any:
        props = self.resolve(self.template.properties(logical_id))
        containers = [
            {
                "name": c["Name"],
                "image": c["Image"],
                "essential": c.get("Essential", True),
                "stopTimeout": int(c.get("StopTimeout", 30)),
                # moto's Fargate RunTask needs a container-level memory; AWS takes the task's.
                "memory": int(c.get("Memory", props.get("Memory", 512))),
                "environment": [
                    {"name": e["Name"], "value": str(e["Value"])} for e in c.get("Environment", [])
                ],
            }
            for c in props["ContainerDefinitions"]
        ]
        definition = {
            "family": self._family(logical_id),
            "requiresCompatibilities": props.get("RequiresCompatibilities", ["FARGATE"]),
            "networkMode": props.get("NetworkMode", "awsvpc"),
            "cpu": str(props.get("Cpu", "256")),
            "memory": str(props.get("Memory", "512")),
            "executionRoleArn": props.get("ExecutionRoleArn"),
            "containerDefinitions": containers,
        }
        if "TaskRoleArn" in props:  # the runner's has none (docs/security.md)
            definition["taskRoleArn"] = props["TaskRoleArn"]
        return definition

    def _family(self, logical_id: str) -> str:
        family = self.template.properties(logical_id).get("Family")
        return str(self.resolve(family)) if family else f"{self.prefix}-{logical_id}"

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
)
