"""The access token a run-task service uses for its callback and data requests (design §6).

A JWT signed HS256 with a key derived from the platform secret; the algorithm is pinned on
both sides, so a token claiming ``none`` or RS256 is refused. Its claims name one result and
its run; it expires with the task's max run time, and dies earlier, the moment its result is
final: the callback and data endpoints read the result on every request (``jti`` must be the
result's current token, and the result must still be open).
"""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import ValidationError

from iacp import PRODUCT
from iacp.crypto import derive_key
from iacp.errors import Unauthorized
from iacp.model import Model
from iacp.timestamps import utcnow

ALGORITHM = "HS256"
ISSUER = PRODUCT
SIGNING_PURPOSE = "run-task-access-tokens"
SEALING_PURPOSE = "run-task-access-tokens-at-rest"
MAX_LIFETIME = timedelta(hours=24)
_REQUIRED = ["result_id", "run_id", "workspace_id", "stage", "iss", "sub", "jti", "iat", "nbf"]


class AccessClaims(Model):
    result_id: str
    run_id: str
    workspace_id: str
    stage: str
    jti: str


class AccessTokens:
    def __init__(self, platform_secret: Callable[[], str], clock: Callable[[], datetime] = utcnow):
        self._platform_secret = platform_secret
        self._clock = clock

    def mint(
        self, *, result_id: str, run_id: str, workspace_id: str, stage: str, lifetime: timedelta
    ) -> tuple[str, str]:
        """A new token for the result; returns ``(token, jti)``."""
        # PyJWT imports cryptography's X.509 support (~40 ms): only the run-task stages and
        # the services' endpoints sign and check tokens, not every function that imports this.
        import jwt

        now = self._clock()
        jti = str(uuid.uuid4())
        claims = {
            "result_id": result_id,
            "run_id": run_id,
            "workspace_id": workspace_id,
            "stage": stage,
            "iss": ISSUER,
            "sub": result_id,
            "jti": jti,
            "iat": now,
            "nbf": now,
            "exp": now + min(lifetime, MAX_LIFETIME),
        }
        return jwt.encode(claims, self._key(), algorithm=ALGORITHM), jti

    def verify(self, token: str) -> AccessClaims:
        """The token's claims, if the platform signed it with HS256 and it is in date.
        Raises ``Unauthorized`` otherwise, without saying which check failed."""
        import jwt  # as in mint

        try:
            claims = jwt.decode(
                token,
                self._key(),
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": [*_REQUIRED, "exp"]},
                leeway=5,
            )
            return AccessClaims.model_validate(claims)
        except (jwt.InvalidTokenError, ValidationError):
            raise Unauthorized("The access token is not valid.") from None

    def _key(self) -> bytes:
        return derive_key(self._platform_secret(), SIGNING_PURPOSE)
