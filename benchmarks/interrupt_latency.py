"""Ctrl-C latency of ``fit``: seconds from SIGINT to ``KeyboardInterrupt``.

Sends SIGINT (as Ctrl-C does, through ``_thread.interrupt_main``) a few tenths of a second
into a long ``fit`` and reports the maximum and median latency per backend and network.
Not a test (timings depend on the machine); docs/reliability.md quotes its output.

    PYTHONPATH=src python benchmarks/interrupt_latency.py
"""
import _thread
import threading
import time

import numpy as np

import fastmlp as fm

TRIALS = 4


def cases(rng):
    wide_X, wide_y = rng.normal(size=(4096, 64)), rng.normal(size=(4096, 1))
    return {
        "4-unit net, batch size 1": (rng.normal(size=(20000, 4)),
                                     rng.normal(size=(20000, 1)), 4, 1),
        "512-unit net, batch 256": (wide_X, wide_y, 512, 256),
        "512-unit net, one batch of 4096 rows": (wide_X, wide_y, 512, None),
    }


def latency(backend, X, y, hidden, batch_size, delay):
    model = fm.Sequential([fm.Dense(hidden, activation="tanh", input_dim=X.shape[1]),
                           fm.Dense(1)], seed=0, backend=backend)
    model.compile(fm.optimizers.SGD(1e-4), "mse")
    model.build()
    sent = {}

    def send():
        time.sleep(delay)
        sent["at"] = time.perf_counter()
        _thread.interrupt_main()

    thread = threading.Thread(target=send)
    thread.start()
    try:
        model.fit(X, y, epochs=10 ** 6, batch_size=batch_size, shuffle=False, verbose=0)
        raise AssertionError("fit ended before the interrupt")
    except KeyboardInterrupt:
        stopped = time.perf_counter()
    finally:
        thread.join()
    assert all(np.isfinite(w).all() for w in model.get_weights())
    return stopped - sent["at"]


def main():
    rng = np.random.default_rng(0)
    print(f"{'backend':8s} {'network':40s} {'max':>8s} {'median':>8s}")
    for backend in fm.available_backends():
        for name, (X, y, hidden, bs) in cases(rng).items():
            times = sorted(latency(backend, X, y, hidden, bs, 0.3 + 0.1 * k)
                           for k in range(TRIALS))
            print(f"{backend:8s} {name:40s} {times[-1] * 1e3:6.0f}ms "
                  f"{times[len(times) // 2] * 1e3:6.0f}ms")


if __name__ == "__main__":
    main()
