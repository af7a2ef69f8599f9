"""pytest-benchmark setup for fastmlp's suites (run them with ``pytest benchmarks/``;
the normal test run only collects ``tests/``).

Threads are pinned once per session (``FASTMLP_BENCH_THREADS``, default 2) for fastmlp
(BLAS and OpenMP) and for the peers; every benchmark records the BLAS libraries, their
thread counts and the versions in ``extra_info``.
"""
import os

import pytest
import regimes as R


def pytest_configure(config):
    R.pin_threads(int(os.environ.get("FASTMLP_BENCH_THREADS", R.THREADS)))


@pytest.fixture(scope="session")
def environment():
    return R.environment()


@pytest.fixture
def record(benchmark, environment):
    """Return a function that labels the benchmark: its group and what ran."""

    def label(group, **info):
        benchmark.group = group
        blas = sorted({f"{p['internal_api']} {p['version']} ({p['num_threads']} threads)"
                       for p in environment.get("threadpools", []) if p["user_api"] == "blas"})
        # what the caller says of the run (sklearn's own dtype, say) wins over the defaults
        benchmark.extra_info.update({"blas": blas, "dtype": R.DTYPE,
                                     "fastmlp_threads": environment.get("fastmlp_threads"),
                                     "torch_threads": environment.get("torch_threads"),
                                     **info})

    return label


def runner_or_skip(regime, peer):
    if peer not in regime.peers:
        pytest.skip(f"{peer} is not compared on {regime.name}")
    if peer not in R.available_peers():
        pytest.skip(f"{peer} is not installed")
    return R.make_runner(regime, peer)
