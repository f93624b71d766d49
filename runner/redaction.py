"""The JSON plan as its readers get it: every value Terraform marks sensitive is replaced by
``REDACTED``, ``"(sensitive value)"`` (the words Terraform and HCP Terraform print in its place),
like HCP Terraform's redacted JSON plan.

``terraform show -json`` prints sensitive values in full and, beside each, a mask saying which
parts are sensitive: ``true`` (all of it), ``false`` (none), or an object or array shaped like
the value with ``true`` where it is sensitive. ``redact_plan`` applies the plan's own masks:

- ``resource_changes``, ``resource_drift``, ``deferred_changes[*].resource_change`` and
  ``output_changes``: ``before`` by ``before_sensitive``, ``after`` by ``after_sensitive``;
- ``planned_values`` and ``prior_state``: each resource's ``values`` by its
  ``sensitive_values`` (child modules too), each output marked ``"sensitive": true``;
- ``variables``: the value of a root variable the configuration declares sensitive;
- ``configuration`` (every module): the default of a sensitive variable, and the constant
  expression of a sensitive output, of a module argument to a sensitive variable, and of a
  resource argument that a mask of that resource marks (a literal password, sensitive by the
  provider's schema).

A null stays null: it hides nothing, and a marker would claim there was a value. A mask that
marks something but is not shaped like its value hides the whole value.

What Terraform does not mark is not redacted by the masks: a workspace variable that is
sensitive on the platform but not declared ``sensitive`` in the configuration, or a value that
lost its mark inside Terraform (``terraform_data.output``, copied from a sensitive ``input``, is
unmarked once applied). The runner therefore also passes every string of the redacted plan
through the log's masker (``mask_strings``), which knows the workspace's sensitive values.
"""

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

REDACTED = "(sensitive value)"

# "module.a["k"].module.b[0]" -> a, b; an instance key may itself hold dots or "module.".
_MODULE_STEP = re.compile(r'module\.([^.\[]+)(?:\[(?:"(?:[^"\\]|\\.)*"|[^\]]*)\])?')

ModulePath = tuple[str, ...]
ResourceKey = tuple[ModulePath, str]  # module names, address within the module


def redact_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """A redacted copy of ``plan`` (a ``terraform show -json`` document); ``plan`` is unchanged."""
    redacted = copy.deepcopy(plan)
    for resource_change in _resource_changes(redacted):
        _redact_change(_dict(resource_change, "change"))
    for output_change in _dict(redacted, "output_changes").values():
        _redact_change(output_change)
    for values in _state_values(redacted):
        for output in _dict(values, "outputs").values():
            if output.get("sensitive") and "value" in output:
                output["value"] = _hidden(output["value"])
        for _, resource in _resources_in(values):
            if "values" in resource:
                resource["values"] = redact(resource["values"], resource.get("sensitive_values"))
    root_module = _dict(_dict(redacted, "configuration"), "root_module")
    declared = _dict(root_module, "variables")
    for name, variable in _dict(redacted, "variables").items():
        if _dict(declared, name).get("sensitive") and "value" in variable:
            variable["value"] = _hidden(variable["value"])
    _redact_configuration(root_module, (), _masks_by_resource(plan))
    return redacted


def redact(value: Any, mask: Any) -> Any:
    """``value`` with the parts ``mask`` marks replaced by ``REDACTED``."""
    if value is None or mask is None or mask is False:
        return value
    if mask is True:
        return REDACTED
    if isinstance(value, dict) and isinstance(mask, dict):
        return {key: redact(item, mask.get(key)) for key, item in value.items()}
    if isinstance(value, list) and isinstance(mask, list):
        return [redact(item, mask[i] if i < len(mask) else None) for i, item in enumerate(value)]
    return REDACTED if _marks_anything(mask) else value  # shaped unlike the value: hide it all


def _redact_change(change: dict[str, Any]) -> None:
    for side in ("before", "after"):
        if side in change:
            change[side] = redact(change[side], change.get(f"{side}_sensitive"))


def _redact_configuration(
    module: dict[str, Any], path: ModulePath, resource_masks: dict[ResourceKey, list[Any]]
) -> None:
    for variable in _dict(module, "variables").values():
        if variable.get("sensitive") and "default" in variable:
            variable["default"] = _hidden(variable["default"])
    for output in _dict(module, "outputs").values():
        if output.get("sensitive"):
            _hide_constants(output.get("expression"))
    for resource in _list(module, "resources"):
        masks = resource_masks.get((path, resource.get("address", "")), [])
        for name, expression in _dict(resource, "expressions").items():
            if any(_marks_anything(_attribute_mask(mask, name)) for mask in masks):
                _hide_constants(expression)
    for call_name, call in _dict(module, "module_calls").items():
        child = _dict(call, "module")
        child_variables = _dict(child, "variables")
        for name, expression in _dict(call, "expressions").items():
            if _dict(child_variables, name).get("sensitive"):
                _hide_constants(expression)
        _redact_configuration(child, (*path, call_name), resource_masks)


def _masks_by_resource(plan: dict[str, Any]) -> dict[ResourceKey, list[Any]]:
    """Every mask of each configured resource, over all its instances: the configuration has
    one block for them all, and the provider's schema, which says what is sensitive, is not
    in the plan."""
    masks: dict[ResourceKey, list[Any]] = {}

    def add(module_address: str, resource: dict[str, Any], *found: Any) -> None:
        path = tuple(_MODULE_STEP.findall(module_address))
        prefix = "data." if resource.get("mode") == "data" else ""
        address = f"{prefix}{resource.get('type')}.{resource.get('name')}"
        masks.setdefault((path, address), []).extend(found)

    for resource_change in _resource_changes(plan):
        change = _dict(resource_change, "change")
        before, after = change.get("before_sensitive"), change.get("after_sensitive")
        add(resource_change.get("module_address", ""), resource_change, before, after)
    for values in _state_values(plan):
        for module_address, resource in _resources_in(values):
            add(module_address, resource, resource.get("sensitive_values"))
    return masks


def _resource_changes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from _list(plan, "resource_changes")
    yield from _list(plan, "resource_drift")
    for deferred in _list(plan, "deferred_changes"):
        yield _dict(deferred, "resource_change")


def _state_values(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The values documents: what the plan would leave, and the state it started from."""
    return [_dict(plan, "planned_values"), _dict(_dict(plan, "prior_state"), "values")]


def _resources_in(values: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each resource of a values document, child modules included, with its module's address."""
    modules = [_dict(values, "root_module")]
    while modules:
        module = modules.pop()
        for resource in _list(module, "resources"):
            yield module.get("address", ""), resource
        modules += _list(module, "child_modules")


def _attribute_mask(mask: Any, name: str) -> Any:
    if isinstance(mask, dict):
        return mask.get(name)
    return mask  # true marks every attribute; anything else, none


def _hide_constants(expression: Any) -> None:
    """Hide every constant value in an expression, or in a nested block's expressions."""
    if isinstance(expression, dict):
        for key, item in expression.items():
            if key == "constant_value":
                expression[key] = _hidden(item)
            else:
                _hide_constants(item)
    elif isinstance(expression, list):
        for item in expression:
            _hide_constants(item)


def _hidden(value: Any) -> Any:
    return None if value is None else REDACTED


def _marks_anything(mask: Any) -> bool:
    if isinstance(mask, dict):
        return any(_marks_anything(item) for item in mask.values())
    if isinstance(mask, list):
        return any(_marks_anything(item) for item in mask)
    return mask is True


def _dict(document: dict[str, Any], key: str) -> dict[str, Any]:
    """A member that is an object; {} when it is missing or null."""
    member = document.get(key)
    return member if isinstance(member, dict) else {}


def _list(document: dict[str, Any], key: str) -> list[Any]:
    member = document.get(key)
    return member if isinstance(member, list) else []


def mask_strings(value: Any, mask: Callable[[str], str]) -> Any:
    """``value`` with ``mask`` applied to every string in it (keys included): a workspace's
    sensitive variable stays hidden even where the configuration did not declare it
    ``sensitive``, so Terraform's own marks do not cover it."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [mask_strings(item, mask) for item in value]
    if isinstance(value, dict):
        return {mask(key): mask_strings(item, mask) for key, item in value.items()}
    return value
