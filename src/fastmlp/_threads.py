"""How many threads fastmlp computes with: BLAS (the matrix products) and OpenMP (the
compiled engine's team mode, which trains large batches, and networks with a wide first
layer at any batch size, with every product, pass and update split between its threads
while BLAS is held to one thread; and the finiteness scan of large inputs).

BLAS threads are set through threadpoolctl, on every BLAS library loaded in the process
(the library of the compiled engine's BLAS provider, see :func:`fastmlp.set_blas`, and
NumPy's behind the reference backend are distinct libraries; a provider loaded later
gets the count set here); OpenMP threads are the engine's own setting, so other OpenMP users in
the process (PyTorch, scikit-learn) keep theirs.
"""
from __future__ import annotations

from ._scalars import check_int

_requested: int | None = None


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for BLAS and for the compiled engine's OpenMP loops.

    The setting is process-wide (BLAS libraries keep one thread count each). Small
    networks use one thread whatever ``n`` is: BLAS and the engine go parallel only
    above a size where it pays.

    Parameters
    ----------
    n : int
        Number of threads, >= 1.

    Examples
    --------
    >>> import fastmlp as fm
    >>> fm.set_num_threads(1)
    >>> fm.get_num_threads()
    1
    """
    global _requested
    n = check_int("n", n, 1)
    from threadpoolctl import threadpool_limits

    from .backend import _load_compiled

    engine = _load_compiled()  # loads SciPy's BLAS too, so that threadpoolctl sees it
    threadpool_limits(limits=n, user_api="blas")
    if engine is not None:  # after BLAS: a team running meanwhile keeps its hold on it
        engine.set_num_threads(n)
    _requested = n


def get_num_threads() -> int:
    """The thread count set by :func:`set_num_threads`; before any call, the largest
    count of the loaded BLAS libraries and the engine's OpenMP default (by default the
    number of cores, or what ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` say).

    Examples
    --------
    >>> import fastmlp as fm
    >>> fm.get_num_threads() >= 1
    True
    """
    if _requested is not None:
        return _requested
    from threadpoolctl import threadpool_info

    from .backend import _load_compiled

    engine = _load_compiled()
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    if engine is not None:
        counts.append(engine.get_num_threads())
    return max(counts, default=1)
