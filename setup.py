"""Build the compiled extensions of fastmlp.

Environment switches:

* ``FASTMLP_NO_OPENMP=1`` builds without OpenMP even where the compiler has it.
* ``FASTMLP_ARCH=portable`` compiles for the compiler's baseline instruction set instead of
  the building machine's (``native``, the default: ``pip install .`` builds where it runs,
  and the element-wise kernels and optimizer updates then use the machine's full vector
  width). A native build records the CPU features of the machine it was built on
  (``fastmlp/backend/_cpu.py``); on a machine that lacks one, the compiled backend is not
  loaded and fastmlp falls back to the NumPy backend with a warning that says to rebuild
  (or to build wheels for other machines with ``FASTMLP_ARCH=portable``).
* ``FASTMLP_DEBUG=1`` turns Cython's bounds/wraparound/initialization checks back on and
  compiles with AddressSanitizer. The generated C of a debug build goes to
  ``build/cython-debug`` (apart from the release C next to the ``.pyx``), and switching
  between debug and release rebuilds every extension, so neither build can be left over
  from the other. Run the tests under it as ``docs/reliability.md`` shows::

      FASTMLP_DEBUG=1 python setup.py build_ext --inplace
      LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" \
          ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc \
          PYTHONPATH=src python -m pytest -q -p no:cacheprovider
"""
import os
import sys
import tempfile
import textwrap

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTMLP_DEBUG", "") not in ("", "0")
NO_OPENMP = os.environ.get("FASTMLP_NO_OPENMP", "") not in ("", "0")
ARCH = os.environ.get("FASTMLP_ARCH", "native").strip().lower()
if ARCH not in ("native", "portable"):
    sys.exit(f"FASTMLP_ARCH must be 'native' or 'portable', got {ARCH!r}")
MODE = ("debug" if DEBUG else "release") + "-" + ARCH

MODULES = ["_blas", "_kernels", "_engine"]


def _compiler_has_openmp(compiler) -> bool:
    """Compile and link a tiny OpenMP program to see whether ``-fopenmp`` works."""
    return _compiler_accepts(compiler, "-fopenmp", """
        #include <omp.h>
        int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
        """)


def _compiler_accepts(compiler, flag: str, source: str = "int main(void) { return 0; }\n"
                      ) -> bool:
    """Compile and link a tiny program with ``flag`` to see whether the compiler takes it."""
    source = textwrap.dedent(source)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as handle:
            handle.write(source)
        try:
            objects = compiler.compile([path], output_dir=tmp, extra_postargs=[flag])
            compiler.link_executable(objects, os.path.join(tmp, "probe"),
                                     extra_postargs=[flag])
        except Exception:  # noqa: BLE001 - any failure means "not supported"
            return False
    return True


def _cpu_features() -> list[str]:
    """The CPU features NumPy detects on this machine (its runtime dispatch table)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return sorted(name for name, present in __cpu_features__.items() if present)


class BuildExt(build_ext):
    """Add OpenMP flags when the compiler supports them, none otherwise; rebuild everything
    when the build mode (debug or release) differs from the previous build's."""

    def run(self):
        stamp = os.path.join(self.build_temp, "fastmlp-build-mode")
        try:
            with open(stamp) as handle:
                previous = handle.read().strip()
        except OSError:
            previous = None
        if previous != MODE:
            self.force = True
        self.required_cpu_features = []
        super().run()
        self._write_cpu_record()
        os.makedirs(self.build_temp, exist_ok=True)
        with open(stamp, "w") as handle:
            handle.write(MODE)

    def _write_cpu_record(self):
        """``fastmlp/backend/_cpu.py`` next to the extensions (in the build directory that
        goes into the wheel, and in the source tree for ``--inplace``): the CPU features
        the native code may use, checked before the extensions are imported."""
        folders = [os.path.join(self.build_lib, "fastmlp", "backend")]
        if self.inplace:
            folders.append(self.get_finalized_command("build_py").get_package_dir(
                "fastmlp.backend"))
        for folder in folders:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "_cpu.py"), "w") as handle:
                handle.write('"""Written by setup.py: the CPU features of the machine the '
                             'compiled backend was\nbuilt for (empty: a portable build)."""\n'
                             f"REQUIRED = {self.required_cpu_features!r}\n")

    def build_extensions(self):
        use_openmp = (not NO_OPENMP and self.compiler.compiler_type == "unix"
                      and _compiler_has_openmp(self.compiler))
        if not NO_OPENMP and self.compiler.compiler_type == "msvc":
            use_openmp = True
        native = (ARCH == "native" and self.compiler.compiler_type == "unix"
                  and _compiler_accepts(self.compiler, "-march=native"))
        required = _cpu_features() if native else []
        for ext in self.extensions:
            if native:
                ext.extra_compile_args.append("-march=native")
            if use_openmp:
                flag = "/openmp" if self.compiler.compiler_type == "msvc" else "-fopenmp"
                ext.extra_compile_args.append(flag)
                if self.compiler.compiler_type != "msvc":
                    ext.extra_link_args.append(flag)
            if DEBUG and self.compiler.compiler_type == "unix":
                ext.extra_compile_args += ["-fsanitize=address", "-fno-omit-frame-pointer", "-O1", "-g"]
                ext.extra_link_args += ["-fsanitize=address"]
        print(f"fastmlp: building with OpenMP {'on' if use_openmp else 'off'}, "
              f"{'-march=native' if native else 'the baseline instruction set'}"
              f"{', debug checks + AddressSanitizer' if DEBUG else ''}", file=sys.stderr)
        super().build_extensions()
        self.required_cpu_features = required


def extensions():
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    exts = [
        Extension(
            f"fastmlp.backend.{name}",
            [f"src/fastmlp/backend/{name}.pyx"],
            include_dirs=[numpy.get_include()],
            define_macros=macros,
            # -fno-math-errno: sqrt need not set errno, so the optimizer loops vectorize;
            # -fno-trapping-math: branches on float comparisons may become selects, so those
            # loops vectorize too. Neither changes a computed value (Python never enables
            # floating-point traps); -ffast-math, which would, stays off. -ffp-contract=off:
            # no fused multiply-adds the source does not write, so a native build computes
            # exactly what a portable one does.
            extra_compile_args=([] if os.name == "nt"
                                else ["-O3", "-fno-math-errno", "-fno-trapping-math",
                                      "-ffp-contract=off"]),
        )
        for name in MODULES
    ]
    directives = {
        "language_level": 3,
        "boundscheck": DEBUG,
        "wraparound": DEBUG,
        "initializedcheck": DEBUG,
        "cdivision": True,
        "embedsignature": True,
    }
    return cythonize(exts, compiler_directives=directives, annotate=False,
                     build_dir=os.path.join("build", "cython-debug") if DEBUG else None)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
