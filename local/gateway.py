"""API Gateway (REST) in-process: the template's routes, its TOKEN authorizer with its
decision cache, its gateway responses, and Lambda proxy events as the handlers get them.

Requests may come on many threads at once (the HTTP front serves each on its own): the
handlers the platform gives are ``local.functions.Function``s, which run each event in an
execution environment of its own, one event at a time, as Lambda does."""

import fnmatch
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.functions import Handler, LambdaContext
from local.template import ACCOUNT, REGION, Template

API_ID = "local"


@dataclass
class GatewayReply:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Route:
    function_id: str
    method: str
    path: str
    authorized: bool
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", self.path)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        self.pattern = re.compile(f"^{regex}$")

    @property
    def specificity(self) -> tuple[bool, int, bool]:
        """API Gateway prefers literal paths to greedy ones, of greedy ones the deepest
        (``/api/v1/{proxy+}`` before ``/{proxy+}``), and a method to ANY."""
        greedy = "+}" in self.path
        return (not greedy, self.path.count("/") if greedy else 0, self.method != "ANY")


@dataclass
class _Decision:
    allowed: bool
    context: dict[str, Any]
    expires: float


class ApiGateway:
    def __init__(
        self,
        template: Template,
        handlers: Mapping[str, Handler],
        api_id: str = "Api",
        clock: Callable[[], float] = time.monotonic,
    ):
        api = template.properties(api_id)
        self.stage = str(api["StageName"])
        self._handlers = handlers
        self._clock = clock
        self._responses: dict[str, dict[str, Any]] = api.get("GatewayResponses", {})
        auth = api.get("Auth", {})
        default_authorizer = auth.get("DefaultAuthorizer")
        authorizer = auth.get("Authorizers", {}).get(default_authorizer, {})
        self._authorizer_function = authorizer.get("FunctionArn", {}).get("Fn::GetAtt", [None])[0]
        identity = authorizer.get("Identity", {})
        self._identity_header = str(identity.get("Header", "Authorization")).lower()
        self._identity_pattern = re.compile(identity.get("ValidationExpression", ".*"))
        self.cache_seconds = int(identity.get("ReauthorizeEvery", 300))
        self._cache: dict[str, _Decision] = {}
        self.routes = sorted(
            self._routes(template, api_id, default_authorizer is not None),
            key=lambda r: r.specificity,
            reverse=True,
        )

    @staticmethod
    def _routes(template: Template, api_id: str, default_auth: bool) -> list[Route]:
        routes = []
        for function_id, function in template.resources("AWS::Serverless::Function").items():
            for event in function["Properties"].get("Events", {}).values():
                props = event.get("Properties", {})
                if event["Type"] != "Api" or props.get("RestApiId") != {"Ref": api_id}:
                    continue
                authorizer = props.get("Auth", {}).get("Authorizer")
                routes.append(
                    Route(
                        function_id=function_id,
                        method=str(props["Method"]).upper(),
                        path=str(props["Path"]),
                        authorized=default_auth and authorizer != "NONE",
                    )
                )
        return routes

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        body: str | None = None,
    ) -> GatewayReply:
        method = method.upper()
        headers = dict(headers or {})
        match = self._match(method, path)
        if match is None:
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", 403)
        route, path_parameters = match
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{self.stage}/{method}{path}"
        authorizer_context: dict[str, Any] | None = None
        if route.authorized:
            decision = self._authorize(headers, method_arn)
            if isinstance(decision, GatewayReply):
                return decision
            authorizer_context = decision
        event = self._proxy_event(
            route, method, path, headers, query, body, path_parameters, authorizer_context
        )
        try:
            result = self._handlers[route.function_id](event, LambdaContext(route.function_id))
        except Exception:
            return self._gateway_response("DEFAULT_5XX", 502)  # a Lambda error: 502 in AWS
        reply_headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            reply_headers[name] = ", ".join(str(v) for v in values)
        return GatewayReply(int(result["statusCode"]), reply_headers, result.get("body") or "")

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method in (method, "ANY"):
                return route, found.groupdict()
        return None

    def _authorize(
        self, headers: Mapping[str, str], method_arn: str
    ) -> dict[str, Any] | GatewayReply:
        token = next((v for k, v in headers.items() if k.lower() == self._identity_header), None)
        if not token or not self._identity_pattern.match(token):
            return self._gateway_response("UNAUTHORIZED", 401)  # API Gateway answers itself
        now = self._clock()
        cached = self._cache.get(token)
        if cached is None or cached.expires <= now:
            event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            try:
                policy = self._handlers[self._authorizer_function](
                    event, LambdaContext(self._authorizer_function)
                )
            except Exception as error:
                if str(error) == "Unauthorized":
                    return self._gateway_response("UNAUTHORIZED", 401)
                return self._gateway_response("AUTHORIZER_FAILURE", 500)
            cached = _Decision(
                allowed=_policy_allows(policy.get("policyDocument", {}), method_arn),
                context={"principalId": policy.get("principalId"), **policy.get("context", {})},
                expires=now + self.cache_seconds,
            )
            if self.cache_seconds > 0:
                self._cache[token] = cached
        if not cached.allowed:
            return self._gateway_response("ACCESS_DENIED", 403)
        return cached.context

    def _proxy_event(
        self,
        route: Route,
        method: str,
        path: str,
        headers: dict[str, str],
        query: Mapping[str, str] | None,
        body: str | None,
        path_parameters: dict[str, str],
        authorizer_context: dict[str, Any] | None,
    ) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": dict(query) if query else None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()}
            if query
            else None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": API_ID,
                "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
                "stage": self.stage,
                "requestId": request_id,
                "httpMethod": method,
                "path": f"/{self.stage}{path}",
                "resourcePath": route.path,
                "protocol": "HTTP/1.1",
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent")},
                "authorizer": authorizer_context,
            },
            "body": body,
            "isBase64Encoded": False,
        }

    def _gateway_response(self, response_type: str, status: int) -> GatewayReply:
        """The template's gateway response for this type, falling back as API Gateway does."""
        fallback = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        spec = self._responses.get(response_type) or self._responses.get(fallback) or {}
        status = int(spec.get("StatusCode", status))
        headers = {
            name: str(value).strip("'")
            for name, value in spec.get("ResponseParameters", {}).get("Headers", {}).items()
        }
        body = str(spec.get("ResponseTemplates", {}).get("application/json", ""))
        message = json.dumps(_DEFAULT_MESSAGES.get(response_type, response_type))
        return GatewayReply(status, headers, body.replace("$context.error.messageString", message))


_DEFAULT_MESSAGES = {
    "UNAUTHORIZED": "Unauthorized",
    "ACCESS_DENIED": "User is not authorized to access this resource",
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "AUTHORIZER_FAILURE": "Authorizer failure",
}


def _policy_allows(document: Mapping[str, Any], method_arn: str) -> bool:
    def matches(statement: Mapping[str, Any]) -> bool:
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        return any(fnmatch.fnmatchcase(method_arn, r) for r in resources)

    statements = document.get("Statement", [])
    if any(s.get("Effect") == "Deny" and matches(s) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and matches(s) for s in statements)
