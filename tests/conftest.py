import os

import pytest

# Tesseract is parallelized by processes; its own OpenMP threads only slow it down here.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory):
    """One Prefect test API for the whole session (it takes 8-21 s to start)."""
    from pathlib import Path

    from coi.prefect_env import configure

    data = tmp_path_factory.mktemp("coi-data")
    saved = dict(os.environ)
    configure(data)  # before prefect is imported by this process
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield Path(os.environ["PREFECT_HOME"])
    os.environ.clear()
    os.environ.update(saved)
