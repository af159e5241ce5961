import os
from collections.abc import Iterator
from typing import Any

import pytest
from receivers import Receiver

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


@pytest.fixture(scope="session")
def prefect_api(prefect_home) -> str:
    """The session's Prefect test API, for ``coi`` subprocesses (PREFECT_API_URL) whose test
    is not about the local API each command otherwise starts and stops (7-20 s each)."""
    import prefect.settings

    return str(prefect.settings.PREFECT_API_URL.value())


@pytest.fixture
def receiver() -> Iterator[Any]:
    """``receiver(500, 500, default=200)``: a local webhook endpoint answering those codes."""
    made: list[Receiver] = []

    def make(*codes: int, default: int = 200) -> Receiver:
        made.append(Receiver(list(codes), default))
        return made[-1]

    yield make
    for r in made:
        r.close()
