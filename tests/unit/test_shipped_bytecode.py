"""The common layer and the runner's image ship bytecode that Python uses as it is
(layers/common/Makefile, runner/Dockerfile; docs/performance.md, "Bytecode"). SAM's Python
builder ships none, the base image's standard library has none, Lambda's /opt and image are
read-only, and the zip that `sam deploy` uploads dates every file 1980-01-01: without it,
every cold start and every runner phase compiles every module it imports from source.

The layer is built here as ``bench.cold_starts.layer_tree`` builds it: the Makefile's steps
with this Python, and the locked requirements copied from this environment instead of
downloaded. There is no Docker engine here: the image's step is read, not run."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cold_starts import LAYER, ROOT, layer_tree
from local.template import TEMPLATE_PATH, Template

ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z: the date sam deploy's zip gives every file


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return layer_tree(tmp_path_factory.mktemp("layer"), bytecode=True)


def test_every_module_of_the_layer_has_unchecked_hash_bytecode_for_the_runtime(layer: Path):
    sources = sorted(layer.rglob("*.py"))
    compiled = sorted(layer.rglob("*.pyc"))

    assert len(sources) > 900
    for source in sources:
        header = Path(importlib.util.cache_from_source(str(source))).read_bytes()[:8]
        assert header[:4] == importlib.util.MAGIC_NUMBER, source
        # PEP 552's flags: hash-based (bit 0), not checked against the source (bit 1 unset).
        assert int.from_bytes(header[4:], "little") == 0b01, source
    # Only this Python's, none copied from the checkout's own __pycache__.
    assert len(compiled) == len(sources)


def test_the_layers_modules_load_from_their_bytecode_without_reading_a_source(layer: Path):
    """Every file is dated as the deploy zip dates it, and every source made unloadable:
    each of iacp's modules still imports, and with it the layer's libraries, so none was
    compiled from its source."""
    for path in layer.rglob("*"):
        if path.suffix == ".py":
            path.write_text('raise ImportError("compiled from its source")\n')
        os.utime(path, (ZIP_EPOCH, ZIP_EPOCH))
    imports_all = f"""
import importlib, pkgutil, sys
import iacp
for module in pkgutil.walk_packages(iacp.__path__, "iacp."):
    importlib.import_module(module.name)
# Those that iacp imports where they are used, and where each came from.
for name in (
    "jwt", "cryptography.hazmat.primitives.ciphers.aead", "iacp", "pydantic", "boto3", "botocore"
):
    module = importlib.import_module(name)
    assert module.__file__.startswith({str(layer)!r}), module.__file__
"""

    loaded = subprocess.run(  # noqa: S603 -- this Python, the layer just built
        [sys.executable, "-c", imports_all],
        # Nothing is written back, as on Lambda's read-only /opt.
        env={**os.environ, "PYTHONPATH": str(layer), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )

    assert loaded.returncode == 0, loaded.stderr[-2000:]


def test_the_layer_is_compiled_for_the_functions_runtime():
    template = Template.load(TEMPLATE_PATH)
    runtime = template.body["Globals"]["Function"]["Runtime"]
    layer = template.resources("AWS::Serverless::LayerVersion")["CommonLayer"]

    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    makefile = (LAYER / "Makefile").read_text()
    assert f"RUNTIME_VERSION := {runtime.removeprefix('python')}\n" in makefile


def test_the_runner_image_compiles_all_a_phase_imports_once_it_is_in_the_image():
    dockerfile = (ROOT / "runner" / "Dockerfile").read_text()
    steps = re.findall(r"^[A-Z]+ (?:.*\\\n)*.*$", dockerfile, re.M)
    (compiles,) = [i for i, step in enumerate(steps) if "-m compileall" in step]
    installs = next(i for i, step in enumerate(steps) if "pip install" in step)
    copies = [i for i, step in enumerate(steps) if step.startswith("COPY ")]

    assert installs < compiles and max(copies) < compiles
    assert "--invalidation-mode unchecked-hash" in steps[compiles]
    # The standard library's directory, which holds pip's site-packages, and iacp with the
    # runner: all the Python the image has.
    assert 'sysconfig.get_path("stdlib")' in steps[compiles] and "/opt/iacp" in steps[compiles]
