"""The base of iacp's pydantic models.

Pydantic builds a model's validator and serializer when its class is defined, unless told to
wait. A function's cold start imports the models of every domain its code touches, and uses
a few: each is built at its first use instead (``defer_build``), so a function pays only for
the models it uses (docs/performance.md, "Cold imports").
"""

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)


def defined_models() -> Iterator[type[BaseModel]]:
    """The pydantic models of iacp's modules imported so far, built yet or not; each once
    (a model with two model bases is a subclass of both)."""
    pending, seen = list(BaseModel.__subclasses__()), set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        pending.extend(model.__subclasses__())
        if model.__module__.startswith("iacp."):
            yield model
