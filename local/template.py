"""Reading template.yaml and creating its stateful resources in moto (or any endpoint)."""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import CreateTableInputTypeDef

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"

# CloudFormation's short-form tags (!Ref X, !GetAtt X.Y, !Sub ...), read as their long form.
_TAGS = ("Ref", "GetAtt", "Sub", "Join", "If", "Equals", "Not", "Select", "Split")


class _CfnLoader(yaml.SafeLoader):
    pass


def _long_form(name: str) -> Any:
    key = name if name == "Ref" else f"Fn::{name}"

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

    def function_environment(self, logical_id: str) -> dict[str, Any]:
        globals_ = self.body.get("Globals", {}).get("Function", {})
        merged = dict(globals_.get("Environment", {}).get("Variables", {}))
        own = self.properties(logical_id).get("Environment", {}).get("Variables", {})
        merged.update(own)
        return merged


@dataclass
class Provisioned:
    """Physical names of the stateful resources, by logical id, as ``!Ref`` resolves them.

    Names are fixed by the prefix, so handlers can be loaded before the resources exist. A
    secret is referred to by name (GetSecretValue takes a name or an ARN) for the same reason.
    """

    template: Template
    prefix: str = "iacp-local"

    @property
    def refs(self) -> dict[str, str]:
        names = {}
        for kind in (*_KINDS, "AWS::SecretsManager::Secret"):
            for logical_id in self.template.resources(kind):
                name = f"{self.prefix}-{logical_id}"
                names[logical_id] = name.lower() if kind == "AWS::S3::Bucket" else name
        return names

    def resolve(self, value: Any) -> str:
        if isinstance(value, dict) and "Ref" in value:
            return self.refs[value["Ref"]]
        return str(value)

    def environment(self, function_id: str) -> dict[str, str]:
        env = self.template.function_environment(function_id)
        return {name: self.resolve(value) for name, value in env.items()}

    def create(self) -> None:
        """Create the tables, bucket and secret with the current boto3 endpoint (e.g. moto)."""
        refs = self.refs
        dynamodb = boto3.client("dynamodb")
        for logical_id, resource in self.template.resources("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            request: dict[str, Any] = {k: props[k] for k in _TABLE_KEYS if k in props}
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


_KINDS = ("AWS::DynamoDB::Table", "AWS::S3::Bucket")
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
