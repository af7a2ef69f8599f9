"""End-to-end training: one epoch of ``fit`` per round, fastmlp's compiled backend side by
side with its NumPy backend, JAX (one jit per epoch, or a jitted step per batch),
torch.compile, PyTorch, scikit-learn and the GEMM-only limit, per regime.

    pytest benchmarks/test_bench_train.py --benchmark-group-by=group
"""
import pytest
import regimes as R
from conftest import runner_or_skip

TRAIN = [name for name, r in R.REGIMES.items() if r.task == "train"]


@pytest.mark.parametrize("peer", R.PEERS)
@pytest.mark.parametrize("regime", TRAIN)
def test_train_one_epoch(benchmark, record, regime, peer):
    reg = R.REGIMES[regime]
    runner = runner_or_skip(reg, peer)
    # the runner's own account (its optimizer's repr, say) wins over the regime's name
    record(R.regime_label(reg), **{"optimizer": R.effective_optimizer(reg.optimizer),
                                   **runner.info, "peer": peer,
                                   "samples_per_round": runner.per})
    benchmark.pedantic(runner.run, rounds=5 if regime != "tiny-sgd" else 10, iterations=1,
                       warmup_rounds=1)
