"""local.template resolves parameters and conditions as CloudFormation does, on small
inline templates (not template.yaml)."""

from pathlib import Path
from typing import Any

import pytest

from local.template import LOCAL_PARAMETERS, Provisioned, Template

PUBLIC_URL_TEMPLATE = """
Parameters:
  PublicBaseUrl:
    Type: String
    Default: ""
  Stage:
    Type: String
    Default: live
  RunnerImage:
    Type: String
  Retries:
    Type: Number
    Default: 3
Conditions:
  HasPublicBaseUrl: !Not [!Equals [!Ref PublicBaseUrl, ""]]
  IsLive: !Equals [live, !Ref Stage]
  LiveWithUrl: !And [!Condition HasPublicBaseUrl, !Condition IsLive]
  LiveOrUrl: !Or [!Condition HasPublicBaseUrl, !Condition IsLive]
  ThreeRetries: !Equals [!Ref Retries, 3]
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: live
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          PUBLIC_BASE_URL: !If
            - HasPublicBaseUrl
            - !Ref PublicBaseUrl
            - !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/live"
          ONLY_WITH_URL: !If [HasPublicBaseUrl, "yes", !Ref AWS::NoValue]
          IMAGE: !Ref RunnerImage
"""


def load(tmp_path: Path, text: str) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return Template.load(path)


def provisioned(tmp_path: Path, **parameters: str) -> Provisioned:
    stack = Provisioned(load(tmp_path, PUBLIC_URL_TEMPLATE), prefix="stack")
    stack.parameters.update(parameters)
    return stack


def test_the_short_form_condition_tags_read_as_their_long_form(tmp_path: Path):
    conditions = load(tmp_path, PUBLIC_URL_TEMPLATE).body["Conditions"]
    assert conditions["HasPublicBaseUrl"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "PublicBaseUrl"}, ""]}]
    }
    assert conditions["LiveWithUrl"] == {
        "Fn::And": [{"Condition": "HasPublicBaseUrl"}, {"Condition": "IsLive"}]
    }
    assert conditions["LiveOrUrl"] == {
        "Fn::Or": [{"Condition": "HasPublicBaseUrl"}, {"Condition": "IsLive"}]
    }


def test_a_given_parameter_wins_over_the_default(tmp_path: Path):
    stack = provisioned(tmp_path, Stage="test")
    assert stack.resolve({"Ref": "Stage"}) == "test"
    assert stack.resolve({"Ref": "Retries"}) == "3"  # the default, as text
    assert stack.resolve({"Ref": "PublicBaseUrl"}) == ""


def test_a_parameter_without_default_or_value_is_empty(tmp_path: Path):
    stack = provisioned(tmp_path)
    stack.parameters.pop("RunnerImage")
    assert stack.resolve({"Ref": "RunnerImage"}) == ""


def test_the_local_parameters_stand_in_for_those_a_deployment_is_given(tmp_path: Path):
    assert provisioned(tmp_path).resolve({"Ref": "RunnerImage"}) == LOCAL_PARAMETERS["RunnerImage"]


def test_without_a_public_url_the_api_url_is_used(tmp_path: Path):
    stack = provisioned(tmp_path)
    assert stack.condition("HasPublicBaseUrl") is False
    env = stack.environment("Fn")
    assert env["PUBLIC_BASE_URL"] == "https://stack-Api.execute-api.us-east-1.amazonaws.com/live"
    assert "ONLY_WITH_URL" not in env  # !Ref AWS::NoValue leaves it out


def test_a_given_public_url_is_used(tmp_path: Path):
    stack = provisioned(tmp_path, PublicBaseUrl="http://127.0.0.1:8080")
    assert stack.condition("HasPublicBaseUrl") is True
    env = stack.environment("Fn")
    assert env["PUBLIC_BASE_URL"] == "http://127.0.0.1:8080"
    assert env["ONLY_WITH_URL"] == "yes"


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({}, {"IsLive": True, "LiveWithUrl": False, "LiveOrUrl": True}),
        ({"Stage": "x"}, {"IsLive": False, "LiveWithUrl": False, "LiveOrUrl": False}),
        ({"PublicBaseUrl": "u"}, {"IsLive": True, "LiveWithUrl": True, "LiveOrUrl": True}),
        (
            {"PublicBaseUrl": "u", "Stage": "x"},
            {"IsLive": False, "LiveWithUrl": False, "LiveOrUrl": True},
        ),
    ],
)
def test_and_or_and_condition_references(
    tmp_path: Path, parameters: dict[str, str], expected: dict[str, bool]
):
    stack = provisioned(tmp_path, **parameters)
    assert {name: stack.condition(name) for name in expected} == expected


def test_equals_compares_numbers_as_text(tmp_path: Path):
    assert provisioned(tmp_path).condition("ThreeRetries") is True
    assert provisioned(tmp_path, Retries="4").condition("ThreeRetries") is False


def test_if_in_lists_and_nested_values(tmp_path: Path):
    stack = provisioned(tmp_path, PublicBaseUrl="u")
    value: Any = {
        "Items": [
            {"Fn::If": ["IsLive", "live", "other"]},
            {"Fn::If": ["HasPublicBaseUrl", {"Ref": "AWS::NoValue"}, "kept"]},
            {"Fn::If": ["LiveWithUrl", {"Nested": {"Ref": "Stage"}}, None]},
        ]
    }
    assert stack.resolve(value) == {"Items": ["live", {"Nested": "live"}]}


def test_sub_with_variables_and_literals(tmp_path: Path):
    stack = provisioned(tmp_path)
    value = {"Fn::Sub": ["${Name}-${Stage}-${!Literal}", {"Name": {"Ref": "Api"}}]}
    assert stack.resolve(value) == "stack-Api-live-${Literal}"


def test_an_unknown_condition_is_an_error(tmp_path: Path):
    stack = provisioned(tmp_path)
    with pytest.raises(KeyError, match="Missing"):
        stack.resolve({"Fn::If": ["Missing", "a", "b"]})


def test_a_cycle_of_conditions_is_an_error(tmp_path: Path):
    stack = Provisioned(
        Template(
            {
                "Conditions": {"A": {"Condition": "B"}, "B": {"Fn::Not": [{"Condition": "A"}]}},
                "Resources": {},
            }
        )
    )
    with pytest.raises(ValueError, match="cycle"):
        stack.condition("A")


def test_a_non_condition_function_in_conditions_is_an_error():
    stack = Provisioned(
        Template({"Conditions": {"A": {"Fn::Sub": "x"}, "B": "true"}, "Resources": {}})
    )
    with pytest.raises(ValueError, match="Fn::Sub"):
        stack.condition("A")
    with pytest.raises(ValueError, match="not a condition function"):
        stack.condition("B")
