"""A reference run-task service: it fails any plan that destroys a resource.

Read README.md first; ``policy`` holds the rule, ``protocol`` the wire format and
``server`` the HTTP service. Run it with ``python -m examples.runtask_service``.
"""

from examples.runtask_service.policy import Outcome, Verdict, check_plan
from examples.runtask_service.server import RunTaskService

__all__ = ["Outcome", "RunTaskService", "Verdict", "check_plan"]
