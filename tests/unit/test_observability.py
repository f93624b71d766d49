"""What the functions' tracer patches (iacp.observability)."""

import subprocess
import sys
from pathlib import Path

from aws_xray_sdk.core.patcher import SUPPORTED_MODULES  # type: ignore[import-untyped]

from iacp.observability import TRACED_MODULES


def test_the_traced_modules_are_ones_the_xray_sdk_can_patch() -> None:
    assert set(TRACED_MODULES) <= set(SUPPORTED_MODULES)


def test_a_tracing_function_patches_aws_and_http_calls_and_imports_nothing_else(
    tmp_path: Path,
) -> None:
    """As in Lambda with active tracing: botocore and http.client are traced, and no other
    library the X-Ray SDK knows (httpx, requests, sqlite3) is imported to be patched."""
    probe = (
        "import sys, http.client; from iacp import observability; observability.tracer; "
        "print(hasattr(http.client.HTTPConnection._send_request, '__wrapped__'), "
        "[m for m in ('httpx', 'requests', 'sqlite3') if m in sys.modules])"
    )
    ran = subprocess.run(  # noqa: S603 -- this interpreter
        [sys.executable, "-c", probe],
        env={
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "AWS_LAMBDA_FUNCTION_NAME": "probe",
            "AWS_REGION": "us-east-1",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=True,
    )

    assert ran.stdout.split() == ["True", "[]"]
