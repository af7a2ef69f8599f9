# The test and benchmark hooks of the compiled engine, behind one entry point,
# ``_engine.testing`` (included by _engine.pyx). Each setter changes the process-wide
# settings that every engine copies when a call starts, and returns the previous value
# so that the caller can restore it.


cdef _Core _core_of(engine):
    if not isinstance(engine, Engine):
        raise TypeError(f"expected a compiled Engine, got {type(engine).__name__}")
    core = (<Engine> engine)._core
    core._reserve(0)        # take the current settings
    return core


cdef class _Testing:
    """Hooks that force the engine's paths for tests and benchmarks (``_engine.testing``)."""

    def set_parallel_min(self, Py_ssize_t elements):
        """Set the size from which the element-wise passes run on several threads;
        returns the previous one.

        Parameters
        ----------
        elements : int
            Elements of a pass (rows x columns); 1 makes every pass of two rows or more
            parallel, ``2**62`` none.
        """
        previous = _settings.parallel_min
        _settings.parallel_min = max(elements, 1)
        return previous

    def set_team_thresholds(self, min_work=None, min_rows=None):
        """Set the multiply-adds per batch and the rows per thread from which training runs
        in team mode; returns the previous pair.

        Parameters
        ----------
        min_work : int or None
            Multiply-adds (rows x the network's weights) per batch; None keeps it;
            ``>= 2**60`` turns team mode off altogether (also where the first layer's
            column mode would choose it).
        min_rows : int or None
            Rows per thread; None keeps it. Tests force team mode with (0, 0).
        """
        previous = (_settings.team_min_work, _settings.team_min_rows)
        if min_work is not None:
            _settings.team_min_work = max(<Py_ssize_t> min_work, 0)
        if min_rows is not None:
            _settings.team_min_rows = max(<Py_ssize_t> min_rows, 0)
        return previous

    def set_team_columns(self, forward=None, backward=None):
        """Force the column plan of team mode; returns the previous pair.

        Parameters
        ----------
        forward : int or None
            Leading layers whose forward product is split by output units (None: the
            rule of ``_team_plan``).
        backward : bool or None
            Whether the product into the first layer's dZ is (None: the rule).
        """
        previous = (None if _settings.force_forward < 0 else _settings.force_forward,
                    None if _settings.force_backward < 0 else bool(_settings.force_backward))
        _settings.force_forward = -1 if forward is None else max(<int> forward, 0)
        _settings.force_backward = -1 if backward is None else <int> bool(backward)
        return previous

    def set_team_threads(self, int threads):
        """Start ``threads`` OpenMP threads for every team, whatever its number of tasks
        (0: one per task); returns the previous count. One thread runs every task of a
        phase, as when the other threads of a team have lost their cores.

        Parameters
        ----------
        threads : int
            Threads, >= 0.
        """
        previous = _settings.team_threads
        _settings.team_threads = max(threads, 0)
        return previous

    def team_size(self, engine, Py_ssize_t rows):
        """Threads a training call of ``engine`` on batches of ``rows`` rows would use.

        Parameters
        ----------
        engine : Engine
            A compiled engine.
        rows : int
            Rows of a batch.
        """
        return _core_of(engine)._team_size(rows)

    def team_plan(self, engine, Py_ssize_t rows):
        """(leading layers in column mode, backward product in column mode) of a team-mode
        training call of ``engine`` on batches of ``rows`` rows.

        Parameters
        ----------
        engine : Engine
            A compiled engine.
        rows : int
            Rows of a batch.
        """
        cdef int forward
        cdef bint backward
        _core_of(engine)._team_plan(rows, &forward, &backward)
        return forward, bool(backward)

    def hold_blas(self, bint hold):
        """Enter (True) or leave (False) the BLAS hold of a team from Python.

        Parameters
        ----------
        hold : bool
            Enter or leave.
        """
        if hold:
            _blas_single_thread_enter()
        else:
            _blas_single_thread_exit()

    def elementwise_passes(self, int kind, cnp.ndarray z, cnp.ndarray b, cnp.ndarray d,
                           cnp.ndarray db, int repeat=1):
        """Run the engine's element-wise passes on arrays, as a training step does: Z += b
        and A = f(Z) in place, then D *= f'(Z) and db = column sums of D, ``repeat`` times,
        with the current thread count and parallel threshold.

        Parameters
        ----------
        kind : int
            An activation id whose A can replace Z (relu, tanh, sigmoid, ...).
        z, d : ndarray
            C-contiguous (rows, cols) arrays of one float dtype.
        b, db : ndarray
            (cols,) arrays of that dtype.
        repeat : int
            How many times.
        """
        if not _a_replaces_z(kind):
            raise ValueError("use an activation whose A can replace Z (relu, tanh, sigmoid, "
                             "...)")
        if z.dtype == np.float64:
            _elementwise_passes[double](kind, z, b, d, db, repeat)
        else:
            _elementwise_passes[float](kind, z, b, d, db, repeat)


cdef void _elementwise_passes(int kind, floating[:, ::1] z, floating[::1] b,
                              floating[:, ::1] d, floating[::1] db, int repeat) except *:
    cdef Py_ssize_t rows = z.shape[0], cols = z.shape[1]
    cdef int r
    cdef Threading th = _settings
    if (d.shape[0] != rows or d.shape[1] != cols or b.shape[0] != cols
            or db.shape[0] != cols or rows == 0 or cols == 0):
        raise ValueError("z and d must have one shape (rows, cols), b and db (cols,)")
    with nogil:
        for r in range(repeat):
            _bias_activation(&th, kind, &z[0, 0], &z[0, 0], &b[0], <floating*> NULL, 0, rows,
                             cols)
            _activation_backward(&th, kind, &z[0, 0], &z[0, 0], &d[0, 0], <floating*> NULL,
                                 0, <floating*> NULL, rows, cols)
            _column_sums(&th, &d[0, 0], &db[0], rows, cols)


#: The test and benchmark hooks (see :class:`_Testing`).
testing = _Testing()
