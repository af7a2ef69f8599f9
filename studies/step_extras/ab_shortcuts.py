"""Time a build with ``engine_shortcuts.patch`` applied, each shortcut on and off in turn
in one process (the patch's testing hooks), interleaved round by round.

    python studies/step_extras/ab_shortcuts.py mnist-adam shuffle fused 21 1
    python studies/step_extras/ab_shortcuts.py mnist-adam noshuffle direct 21 1
    python studies/step_extras/ab_shortcuts.py mnist-adam shuffle prefetch 21 2 cpu

Arguments: regime, ``shuffle`` or ``noshuffle``, the shortcut (``fused``: each layer's
optimizer step inside the serial backward pass; ``direct``: batches of consecutive rows
read in place; ``prefetch``: team mode prefetches the next batch's rows), rounds, threads,
and ``cpu`` for process time instead of wall time (1 thread: always process time).
Prints medians of the per-round medians (5 epochs each), their range, and the median
on/off ratio of the rounds.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "benchmarks"))
import regimes as R
from fastmlp.backend import _engine


def main() -> None:
    regime, order, which, rounds, threads = sys.argv[1:6]
    shuffle, rounds, threads = order == "shuffle", int(rounds), int(threads)
    cpu = "cpu" in sys.argv[6:]
    R.pin_threads(threads)
    reg = R.REGIMES[regime]
    X, labels = R.make_data(reg)
    Y = R.one_hot(labels, reg.sizes[-1])
    model = R.build_model(reg, "cython")

    def epoch():
        model.fit(X, Y, epochs=1, batch_size=reg.batch_size, verbose=0, shuffle=shuffle)

    def setflag(on):
        if which == "prefetch":
            _engine.testing.set_prefetch_rows(on)
        elif which == "fused":
            _engine.testing.set_serial_shortcuts(fused_updates=on)
        else:
            _engine.testing.set_serial_shortcuts(direct_rows=on)

    for on in (True, False):
        setflag(on)
        epoch()
    clock = time.process_time if (threads == 1 or cpu) else time.perf_counter
    res = {True: [], False: []}
    ratios = []
    for r in range(rounds):
        pair = {}
        for on in ((True, False) if r % 2 == 0 else (False, True)):
            setflag(on)
            time.sleep(0.1)
            ts = []
            for _ in range(5):
                t = clock()
                epoch()
                ts.append(clock() - t)
            pair[on] = np.median(ts)
            res[on].append(pair[on])
        ratios.append(pair[True] / pair[False])
    on, off = np.array(res[True]) * 1e3, np.array(res[False]) * 1e3
    print(f"{regime} shuffle={shuffle} {which} threads={threads}: "
          f"on {np.median(on):.1f} ms ({on.min():.1f}-{on.max():.1f}), "
          f"off {np.median(off):.1f} ms ({off.min():.1f}-{off.max():.1f}), "
          f"on/off {np.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})")


if __name__ == "__main__":
    main()
