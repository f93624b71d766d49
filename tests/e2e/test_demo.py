"""``make demo`` runs what it promises, in a process of its own, as a newcomer runs it."""

import subprocess
import sys

from local.functions import ROOT


def test_the_demo_applies_through_all_four_stages_and_shows_a_check_stopping_a_run():
    finished = subprocess.run(
        [sys.executable, "-m", "local.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    out = finished.stdout
    for stage in ("pre_plan", "post_plan", "pre_apply", "post_apply"):
        assert f"-- {stage} run tasks: passed" in out
    assert "Plan: 2 to add" in out  # the live log
    assert "Apply complete!" in out
    assert "-- status: applied" in out
    assert "services = ['api', 'worker']" in out
    assert 'resource terraform_data.service["worker"] (terraform_data, id ' in out  # inventory
    assert "-- post_plan run tasks: awaiting override" in out
    assert 'Destroys terraform_data.service["worker"]' in out
    assert "-- status: canceled" in out
    cli = out[out.index("4. The terraform CLI") :]  # the stock CLI's remote plan, streamed
    assert "HCP Terraform has been successfully initialized!" in cli
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in cli
    assert out.rstrip().endswith("s.")
