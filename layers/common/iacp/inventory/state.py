"""Reading a Terraform state file (format version 4, as ``terraform apply`` writes it) into
resource instances.

Only managed resources are indexed: data sources are reads, not things a workspace manages.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

from iacp.inventory.models import ResourceInstance

_PROVIDER_SOURCE = re.compile(r'provider\["([^"]+)"\]')
_TAG_ATTRIBUTES = ("tags_all", "tags")  # tags_all includes the provider's default tags


def resource_instances(state: dict[str, Any]) -> list[ResourceInstance]:
    """Every managed resource instance of the state, in address order."""
    found = [
        instance
        for resource in state.get("resources") or []
        if resource.get("mode", "managed") == "managed"
        for instance in _instances(resource)
    ]
    return sorted(found, key=lambda instance: instance.address)


def _instances(resource: dict[str, Any]) -> Iterator[ResourceInstance]:
    module = resource.get("module") or None
    kind, name = str(resource["type"]), str(resource["name"])
    provider = str(resource.get("provider", ""))
    source = _PROVIDER_SOURCE.search(provider)
    for instance in resource.get("instances") or []:
        index_key = instance.get("index_key")
        attributes = instance.get("attributes") or {}
        hidden = _sensitive_attributes(instance)
        yield ResourceInstance(
            address=_address(module, kind, name, index_key),
            module=module,
            type=kind,
            name=name,
            index_key=index_key,
            provider=source.group(1) if source else provider,
            cloud_id=_cloud_id(attributes, hidden),
            tags=_tags(attributes, hidden),
        )


def _address(module: str | None, kind: str, name: str, index_key: int | str | None) -> str:
    address = f"{module}.{kind}.{name}" if module else f"{kind}.{name}"
    if index_key is None:
        return address
    # Terraform writes a for_each key as a quoted string: aws_subnet.private["a"].
    return f"{address}[{json.dumps(index_key)}]"


def _sensitive_attributes(instance: dict[str, Any]) -> set[str]:
    """The top-level attributes marked sensitive (whole or in part): never copied out."""
    names = set()
    for path in instance.get("sensitive_attributes") or []:
        steps = path if isinstance(path, list) else []
        if steps and isinstance(steps[0], dict) and steps[0].get("type") == "get_attr":
            names.add(str(steps[0].get("value")))
    return names


def _cloud_id(attributes: dict[str, Any], hidden: set[str]) -> str | None:
    for name in ("arn", "id"):
        value = attributes.get(name)
        if isinstance(value, str) and value and name not in hidden:
            return value
    return None


def _tags(attributes: dict[str, Any], hidden: set[str]) -> dict[str, str]:
    for name in _TAG_ATTRIBUTES:
        tags = attributes.get(name)
        if isinstance(tags, dict) and tags and name not in hidden:
            return {str(key): str(value) for key, value in tags.items()}
    return {}
