"""Inference latency: ``predict`` on one row of a 64-64-64-1 network, and throughput on a
batch, fastmlp's compiled backend side by side with its NumPy backend, PyTorch (eager,
and torch.compile or torch.jit.trace, the faster) and a jitted JAX forward.

    pytest benchmarks/test_bench_predict.py --benchmark-group-by=group
"""
import dataclasses

import pytest
import regimes as R
from conftest import runner_or_skip

LATENCY = R.REGIMES["predict-latency"]
BATCH = dataclasses.replace(LATENCY, name="predict-batch", n_samples=4096,
                            description="model.predict on 4,096 rows, 64-64-64-1")


@pytest.mark.parametrize("peer", ["fastmlp", "jax", "torch-compile", "numpy", "torch"])
def test_predict_one_row(benchmark, record, peer):
    runner = runner_or_skip(LATENCY, peer)
    record("predict-latency (one row)", peer=peer, **runner.info)
    benchmark(runner.run)


@pytest.mark.parametrize("peer", ["fastmlp", "jax", "torch-compile", "numpy", "torch"])
def test_predict_batch(benchmark, record, peer):
    runner = runner_or_skip(BATCH, peer)
    record("predict-batch (4,096 rows)", peer=peer, **runner.info)
    benchmark(runner.run)
