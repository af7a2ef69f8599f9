"""The x86-64 levels of the compiled backend this CPU can run (see ``_cpuid.h``). Built
for the baseline instruction set, so that it imports on every CPU."""

cdef extern from "_cpuid.h":
    int fastmlp_cpu_level() noexcept nogil

#: Level names, worst first; ``setup.py`` builds a sub-package ``_<name>`` for each.
LEVELS = ("baseline", "avx2", "avx512")


def supported_levels():
    """The levels this CPU and operating system support, worst first.

    Examples
    --------
    >>> from fastmlp.backend import _cpuid
    >>> _cpuid.supported_levels()[0]
    'baseline'
    """
    return LEVELS[:fastmlp_cpu_level() + 1]
