"""IAM's evaluation of identity, session and trust policies, for the statements the platform
writes: Allow/Deny, Action/NotAction, Resource, Principal, policy variables
(``${aws:PrincipalTag/...}``) and the condition operators StringEquals, StringLike,
ArnEquals, ArnLike and Null.

moto evaluates policies too, but too leniently to prove a boundary: a condition on a key the
request lacks passes, and only StringEquals is known. Here, as in IAM, a condition on a
missing key fails (except ``Null``), an unknown operator fails the test, and a policy variable
whose key the request lacks makes its statement match nothing.
"""

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    principal: str = ""  # trust policies: the caller's ARN
    context: Mapping[str, str] = field(default_factory=dict)  # e.g. aws:PrincipalTag/iacp-run


def allows(policy: Mapping[str, Any], request: Request) -> bool:
    """Whether this one policy allows the request: some Allow matches and no Deny does."""
    effects = {s["Effect"] for s in _statements(policy) if _matches(s, request)}
    return "Allow" in effects and "Deny" not in effects


def allows_all(policies: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """A session's permissions: what its role's policy *and* its session policy allow."""
    return all(allows(policy, request) for policy in policies)


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _matches(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotAction" in statement:
        if _any(statement["NotAction"], request.action, request, case=False):
            return False
    elif not _any(statement["Action"], request.action, request, case=False):
        return False
    if "Resource" in statement and not _any(statement["Resource"], request.resource, request):
        return False
    if "Principal" in statement and not _principal_matches(statement["Principal"], request):
        return False
    return all(
        _condition(operator, key, expected, request)
        for operator, keys in statement.get("Condition", {}).items()
        for key, expected in keys.items()
    )


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    return any(request.principal == arn for arn in _list(principal.get("AWS", [])))


def _condition(operator: str, key: str, expected: Any, request: Request) -> bool:
    present = key in request.context
    if operator == "Null":
        return (str(expected).lower() == "true") == (not present)
    if not present:
        return False
    actual = request.context[key]
    values = [str(value) for value in _list(expected)]
    if operator in ("StringEquals", "ArnEquals"):
        return actual in values
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(actual, value) for value in values)
    raise AssertionError(f"condition operator {operator} is not evaluated here")


def _any(patterns: Any, value: str, request: Request, *, case: bool = True) -> bool:
    for pattern in _list(patterns):
        resolved = _substitute(pattern, request)
        if resolved is None:
            continue
        if not case:
            resolved, value = resolved.lower(), value.lower()
        if fnmatch.fnmatchcase(value, resolved):
            return True
    return False


def _substitute(pattern: str, request: Request) -> str | None:
    """The pattern with its policy variables replaced (their values matched literally); None
    when the request lacks one of them."""
    pieces, start = [], 0
    for variable in _VARIABLE.finditer(pattern):
        name = variable.group(1)
        if name not in request.context:
            return None
        pieces += [pattern[start : variable.start()], _literal(request.context[name])]
        start = variable.end()
    pieces.append(pattern[start:])
    return "".join(pieces)


def _literal(value: str) -> str:
    """``value`` as an fnmatch pattern matching only itself."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
