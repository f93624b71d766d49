"""The base of iacp's pydantic models.

Pydantic builds a model's validator and serializer when its class is defined, unless told to
wait. A function's cold start imports the models of every domain its code touches, and uses
a few: each is built at its first use instead (``defer_build``), so a function pays only for
the models it uses (docs/performance.md, "Cold imports").
"""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
