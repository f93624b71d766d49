"""Paths inside a configuration: a workspace's working directory, a VCS trigger prefix."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints


def _inside_configuration(path: str) -> str:
    if ".." in path.split("/"):
        raise ValueError("must stay inside the configuration: '..' is not allowed")
    return path


RelativePath = Annotated[
    str,
    StringConstraints(max_length=200, pattern=r"^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$"),
    AfterValidator(_inside_configuration),
    Field(description="A relative path inside the configuration, without '..'."),
]
