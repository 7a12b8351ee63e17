"""Shared test configuration: the hypothesis settings profile, one thread per test process."""

import os

import pytest
from hypothesis import settings
from threadpoolctl import threadpool_limits

# No deadline: the first call of a numpy/scipy code path can be slow (imports, caches),
# which would make timing-based deadlines flaky.  Individual tests lower max_examples.
settings.register_profile("default", deadline=None, max_examples=100)
settings.load_profile("default")


def pytest_configure(config):
    """Under pytest-xdist (``-n logical`` in pyproject.toml) the machine's cores are shared
    by the worker processes: each runs torch on one thread (set before torch is imported;
    processes a test spawns inherit it), as the BLAS fixture below does for numpy."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """Small matrix products are much slower with several BLAS threads on a loaded machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def dask_client():
    """A real dask.distributed cluster on this machine: a scheduler and two worker
    processes (one thread each), shared by the tests that need one."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed "
                                      "(pip install -e '.[dask]')")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
