from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from iacp.errors import Forbidden
from iacp.principal import Principal, Role


def principal(role: Role, workspaces: frozenset[str] | None = None) -> Principal:
    return Principal(token_id="at-0000000000000000", role=role, workspaces=workspaces)


@pytest.mark.parametrize(
    ("held", "needed", "allowed"),
    [
        (Role.READ, Role.READ, True),
        (Role.READ, Role.WRITE, False),
        (Role.WRITE, Role.WRITE, True),
        (Role.WRITE, Role.ADMIN, False),
        (Role.ADMIN, Role.READ, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_roles_include_the_ones_below(held, needed, allowed):
    if allowed:
        principal(held).require(needed)
    else:
        with pytest.raises(Forbidden):
            principal(held).require(needed)


def test_limited_principal_is_refused_other_workspaces():
    limited = principal(Role.WRITE, frozenset({"ws-a"}))

    limited.require_workspace("ws-a", Role.WRITE)
    with pytest.raises(Forbidden):
        limited.require_workspace("ws-b", Role.READ)
    with pytest.raises(Forbidden):
        limited.require_unlimited("create workspaces")


@pytest.mark.parametrize(
    "original",
    [
        principal(Role.ADMIN),
        principal(Role.READ, frozenset({"ws-a", "ws-b"})),
        principal(Role.WRITE, frozenset()),
        Principal(
            token_id="at-0000000000000000",
            role=Role.READ,
            expires_at=datetime(2026, 11, 24, 3, 5, 20, tzinfo=UTC),
        ),
    ],
)
def test_authorizer_context_round_trips(original):
    context = original.to_authorizer_context()

    assert all(isinstance(v, str) for v in context.values())  # API Gateway's rule
    assert Principal.from_authorizer_context(context) == original


def test_missing_authorizer_context_is_not_a_principal():
    with pytest.raises(ValidationError):
        Principal.from_authorizer_context({})


def test_a_principal_expires_at_its_token_s_expiry():
    expires_at = datetime(2026, 11, 24, 3, 5, 20, tzinfo=UTC)
    expiring = Principal(token_id="at-0000000000000000", role=Role.READ, expires_at=expires_at)

    assert not expiring.expired(expires_at - timedelta(seconds=1))
    assert expiring.expired(expires_at)
    assert not principal(Role.READ).expired(expires_at)  # no expiry: never
