"""iacp.cold_start.collector_paused: the collector is off inside, what was built inside is
frozen, and the collector's state before is restored, even when the import fails."""

import gc

import pytest

from iacp.cold_start import collector_paused


@pytest.fixture(autouse=True)
def collector_as_it_was():
    running = gc.isenabled()
    gc.unfreeze()  # what another test froze in this process is not counted below
    yield
    gc.unfreeze()  # the frozen objects go back to the oldest generation, as before the test
    (gc.enable if running else gc.disable)()


def test_the_collector_is_paused_inside_and_runs_again_after():
    gc.enable()

    with collector_paused():
        paused = not gc.isenabled()
        built_inside: list[list[int]] = [[] for _ in range(100)]

    assert paused
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built_inside)


def test_a_failed_import_resumes_the_collector():
    gc.enable()

    with pytest.raises(ImportError), collector_paused():
        raise ImportError("no module named 'missing'")

    assert gc.isenabled()


def test_a_collector_paused_before_stays_paused():
    gc.disable()

    with collector_paused():
        pass

    assert not gc.isenabled()
