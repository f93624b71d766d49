"""How long each function's handler module takes to import: the part of a Lambda cold start
that is the platform's own (the runtime's start and the layer's download are AWS's).

Each function's ``app.py`` is imported in a fresh Python process with the environment the
template gives it (local names for its tables and buckets; no AWS call is made at import),
``ROUNDS`` times; the median is printed, wall-clock and CPU (on a shared machine the CPU time
varies less), and the fastest round's CPU time (a slow moment of a shared machine only adds
to a round, never takes away), with the number of modules imported (``iacp``'s apart) and
the three packages that cost most by ``python -X importtime``, and the two floors the
functions stand on (what every one of them loads before its own code, and what the HTTP ones
add): "own" is a function's CPU time above the first, which depends less on the machine than
the total. The goal (issue 21): each under 300 ms on a developer machine.

Those imports read the bytecode Python keeps beside this checkout's sources. A second table
imports each function from the common layer as Lambda gets it (``layer_tree``): as SAM's
Python builder would ship it, with no bytecode, so that every import compiles its modules
again, and as ``layers/common/Makefile`` ships it, with the bytecode. With ``--python PATH``
a third table imports each function by this Python and by that one, side by side: Lambda's
runtime is Python 3.13, and a developer machine's may be older. Run: ``make bench`` (or
``python bench/cold_starts.py [--python PATH]``).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from importlib.metadata import distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from local.template import TEMPLATE_PATH, Provisioned, Template  # noqa: E402

ROUNDS = 5
LAYER_ROUNDS = 3
GOAL_MS = 300
LAYER = ROOT / "layers" / "common"
# The handler's import, timed inside the child: the interpreter's own start is not ours.
PROBE = """
import importlib.util, sys, time
before = set(sys.modules)
started, cpu = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
wall_ms, cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
new = set(sys.modules) - before
iacp = sum(1 for m in new if m.startswith("iacp."))
print(f"IMPORT_MS={wall_ms:.1f} {cpu_ms:.1f} {len(new)} {iacp}")
"""
# What every function but the web UI's imports and builds before any code of its own, as it
# does it (the collector paused, iacp.cold_start): boto3 and its DynamoDB client (iacp.aws),
# pydantic, Powertools' logger and metrics. The floor under its cold import (a traced
# function adds the X-Ray SDK's patching to it).
FLOOR = """
from iacp.cold_start import collector_paused

with collector_paused():
    from aws_lambda_powertools import Logger, Metrics
    from pydantic import BaseModel, Field, TypeAdapter
    from iacp.aws import dynamodb_client
    Logger(service="floor")
    dynamodb_client()
"""
# What the three HTTP functions add to it before any route of theirs: the X-Ray tracer with
# its patching, and Powertools' event handler with request validation.
HTTP_FLOOR = (
    FLOOR
    + """
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    Tracer(service="floor", patch_modules=("botocore", "httplib"))
    APIGatewayRestResolver(enable_validation=True)
"""
)
_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|\s+(.+)$")


def function_environment(provisioned: Provisioned, function_id: str, code: Path) -> dict[str, str]:
    """The template's variables and those the Lambda runtime sets itself: libraries take
    their Lambda paths (the X-Ray SDK, for one, then skips the sampling client it makes
    elsewhere, about 180 ms), and tracing stays on as in AWS."""
    return {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        **provisioned.environment(function_id),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)]),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(code),
        "AWS_LAMBDA_FUNCTION_NAME": function_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


def import_ms(
    app: Path, env: dict[str, str], python: str = sys.executable
) -> tuple[float, float, int, int]:
    """Wall and CPU milliseconds of the import, the modules it imported and those of iacp."""
    ran = subprocess.run(  # noqa: S603 -- a Python of ours, this repository's module
        [python, "-c", PROBE, str(app)], env=env, capture_output=True, text=True
    )
    if ran.returncode != 0:
        raise SystemExit(f"{app}: import failed:\n{ran.stderr[-2000:]}")
    wall, cpu, modules, iacp = ran.stdout.rsplit("IMPORT_MS=", 1)[1].split()
    return float(wall), float(cpu), int(modules), int(iacp)


def costliest(app: Path, env: dict[str, str]) -> list[str]:
    """The packages whose own modules took longest to import (self time, summed by
    top-level package), by -X importtime."""
    ran = subprocess.run(  # noqa: S603 -- as above
        [sys.executable, "-X", "importtime", "-c", PROBE, str(app)],
        env=env,
        capture_output=True,
        text=True,
    )
    by_package: dict[str, int] = {}
    for line in ran.stderr.splitlines():
        found = _IMPORTTIME.match(line)
        if found:
            package = found.group(3).strip().split(".")[0]
            by_package[package] = by_package.get(package, 0) + int(found.group(1))
    top = sorted(by_package.items(), key=lambda item: -item[1])[:3]
    return [f"{name} {micros / 1000:.0f} ms" for name, micros in top]


def measured(
    imports: dict[str, tuple[Path, dict[str, str]]],
) -> list[tuple[str, float, float, float, int, int, list[str]]]:
    """Each import ``ROUNDS`` times, round after round through all of them, so that a machine
    that slows down or speeds up during the run changes every row alike (and the floors'
    with them)."""
    for app, env in imports.values():
        import_ms(app, env)  # compiles the bytecode once: Lambda ships it compiled
    rounds: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in imports}
    for _ in range(ROUNDS):
        for name, (app, env) in imports.items():
            rounds[name].append(import_ms(app, env))
    rows = []
    for name, (app, env) in imports.items():
        wall, cpu = (statistics.median(r[i] for r in rounds[name]) for i in (0, 1))
        fastest = min(r[1] for r in rounds[name])
        _, _, modules, iacp = rounds[name][0]
        rows.append((name, wall, cpu, fastest, modules, iacp, costliest(app, env)))
    return rows


def layer_tree(into: Path, *, bytecode: bool) -> Path:
    """The common layer's ``python`` directory: its locked requirements' files, copied from
    this environment (no download), and iacp, by the Makefile's ``sources`` step, then its
    ``bytecode`` step or not."""
    python = into / "python"
    locked = re.findall(r"^([A-Za-z0-9_.-]+)==", (LAYER / "requirements.txt").read_text(), re.M)
    for name in locked:
        for file in distribution(name).files or ():
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # scripts outside the package directory; this Python's bytecode
            (python / file).parent.mkdir(parents=True, exist_ok=True)
            (python / file).write_bytes(Path(str(file.locate())).read_bytes())
    steps = ("sources", "bytecode") if bytecode else ("sources",)
    make = ["make", "--no-print-directory", "-f", str(LAYER / "Makefile")]
    variables = [f"ARTIFACTS_DIR={into}", f"PYTHON={sys.executable}"]
    subprocess.run([*make, *steps, *variables], check=True, capture_output=True)  # noqa: S603
    return python


def from_layer(imports: dict[str, tuple[Path, dict[str, str]]], scratch: Path) -> None:
    """Each function imported from the layer without its bytecode and with it, round after
    round, the median CPU ms of each and their ratio. Lambda's /opt is read-only, so nothing
    compiled is written back."""
    layers = {
        kind: layer_tree(scratch / kind, bytecode=kind == "bytecode")
        for kind in ("source", "bytecode")
    }
    cpu: dict[tuple[str, str], list[float]] = {}
    for _ in range(LAYER_ROUNDS):
        for name, (app, env) in imports.items():
            for kind, python in layers.items():
                shipped = {**env, "PYTHONPATH": str(python), "PYTHONDONTWRITEBYTECODE": "1"}
                cpu.setdefault((name, kind), []).append(import_ms(app, shipped)[1])
    print(f"\n{'from the layer':28} {'no bytecode':>11} {'bytecode':>8}  ratio (CPU ms, median)")
    for name in imports:
        source, compiled = (statistics.median(cpu[name, kind]) for kind in layers)
        print(f"{name:28} {source:11.0f} {compiled:8.0f}  {source / compiled:5.1f}x")


def on_python(imports: dict[str, tuple[Path, dict[str, str]]], python: str) -> None:
    """Each function imported by this Python and by ``python`` (Lambda's runtime is Python
    3.13: an interpreter of that version with the layer's requirements installed), round
    after round, the median CPU ms of each and their ratio."""
    pythons = {"this": sys.executable, "other": python}
    versions = {
        kind: subprocess.run(  # noqa: S603 -- as above
            [path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for kind, path in pythons.items()
    }
    for app, env in imports.values():
        for path in pythons.values():
            import_ms(app, env, path)  # each Python compiles its own bytecode once
    cpu: dict[tuple[str, str], list[float]] = {}
    for _ in range(ROUNDS):
        for name, (app, env) in imports.items():
            for kind, path in pythons.items():
                cpu.setdefault((name, kind), []).append(import_ms(app, env, path)[1])
    this, other = (f"Python {versions[kind]}" for kind in pythons)
    print(f"\n{'by Python':28} {this:>13} {other:>13}  ratio (CPU ms, median)  over {GOAL_MS} ms?")
    for name in imports:
        mine, theirs = (statistics.median(cpu[name, kind]) for kind in pythons)
        over = "" if name.startswith("(") else "OVER" if theirs > GOAL_MS else "ok"  # a floor
        print(f"{name:28} {mine:13.0f} {theirs:13.0f}  {theirs / mine:5.2f}x  {over:>22}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--python",
        metavar="PATH",
        help="also import every function with this interpreter, side by side with this one "
        "(e.g. Python 3.13, Lambda's runtime, with layers/common/requirements.txt installed)",
    )
    options = parser.parse_args()
    template = Template.load(TEMPLATE_PATH)
    provisioned = Provisioned(template, prefix="bench")
    imports = {}
    for function_id, function in sorted(template.resources("AWS::Serverless::Function").items()):
        app = ROOT / str(function["Properties"]["CodeUri"]) / "app.py"
        imports[function_id] = (app, function_environment(provisioned, function_id, app.parent))
    functions = len(imports)
    with tempfile.TemporaryDirectory() as scratch:
        for name, code in (("(floor, see FLOOR)", FLOOR), ("(HTTP floor)", HTTP_FLOOR)):
            floor = Path(scratch) / f"floor{len(imports)}.py"
            floor.write_text(code)
            env = function_environment(provisioned, "RunTaskCallbackFunction", floor.parent)
            imports[name] = (floor, env)
        rows = measured(imports)
        floor_cpu = rows[functions][2]
        print(
            f"{'function':28} {'import ms':>9} {'cpu ms':>6} {'fastest':>7} {'own':>5}"
            f" {'modules':>7} {'iacp':>4}  over {GOAL_MS} ms?  costliest imports"
        )
        for function_id, wall, cpu, fastest, modules, iacp, top in rows:
            over = "OVER" if wall > GOAL_MS else "ok"
            own = f"{cpu - floor_cpu:5.0f}" if cpu >= floor_cpu else "    -"  # the web UI's
            print(
                f"{function_id:28} {wall:9.0f} {cpu:6.0f} {fastest:7.0f} {own} {modules:7}"
                f" {iacp:4}  {over:12}  " + ", ".join(top)
            )
        over_goal = sum(row[1] > GOAL_MS for row in rows[:functions])
        fastest_over_goal = sum(row[3] > GOAL_MS for row in rows[:functions])
        print(f"functions={functions} over_goal={over_goal} fastest_over_goal={fastest_over_goal}")
        (Path(scratch) / "layer").mkdir()
        from_layer(dict(list(imports.items())[:functions]), Path(scratch) / "layer")
        if options.python:
            on_python(imports, options.python)


if __name__ == "__main__":
    main()
