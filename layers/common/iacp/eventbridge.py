"""An EventBridge event as a Lambda function receives it: the envelope's fields, with the
detail a subclass types.

The fields of Powertools' ``EventBridgeModel``, without its parser package, which builds a
model for every AWS event source when it is imported (~70 ms of a cold start).
"""

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from iacp.model import Model


class EventBridgeEvent(Model):
    model_config = ConfigDict(populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: Any
    replay_name: str | None = Field(None, alias="replay-name")
