"""Build the compiled extensions of fastmlp.

Environment switches:

* ``FASTMLP_NO_OPENMP=1`` builds without OpenMP even where the compiler has it.
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
MODE = "debug" if DEBUG else "release"
NO_OPENMP = os.environ.get("FASTMLP_NO_OPENMP", "") not in ("", "0")

MODULES = ["_blas", "_kernels", "_engine"]


def _compiler_has_openmp(compiler) -> bool:
    """Compile and link a tiny OpenMP program to see whether ``-fopenmp`` works."""
    source = textwrap.dedent(
        """
        #include <omp.h>
        int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
        """
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as handle:
            handle.write(source)
        try:
            objects = compiler.compile([path], output_dir=tmp, extra_postargs=["-fopenmp"])
            compiler.link_executable(objects, os.path.join(tmp, "probe"),
                                     extra_postargs=["-fopenmp"])
        except Exception:  # noqa: BLE001 - any failure means "no OpenMP"
            return False
    return True


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
        super().run()
        os.makedirs(self.build_temp, exist_ok=True)
        with open(stamp, "w") as handle:
            handle.write(MODE)

    def build_extensions(self):
        use_openmp = (not NO_OPENMP and self.compiler.compiler_type == "unix"
                      and _compiler_has_openmp(self.compiler))
        if not NO_OPENMP and self.compiler.compiler_type == "msvc":
            use_openmp = True
        for ext in self.extensions:
            if use_openmp:
                flag = "/openmp" if self.compiler.compiler_type == "msvc" else "-fopenmp"
                ext.extra_compile_args.append(flag)
                if self.compiler.compiler_type != "msvc":
                    ext.extra_link_args.append(flag)
            if DEBUG and self.compiler.compiler_type == "unix":
                ext.extra_compile_args += ["-fsanitize=address", "-fno-omit-frame-pointer", "-O1", "-g"]
                ext.extra_link_args += ["-fsanitize=address"]
        print(f"fastmlp: building with OpenMP {'on' if use_openmp else 'off'}"
              f"{', debug checks + AddressSanitizer' if DEBUG else ''}", file=sys.stderr)
        super().build_extensions()


def extensions():
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    exts = [
        Extension(
            f"fastmlp.backend.{name}",
            [f"src/fastmlp/backend/{name}.pyx"],
            include_dirs=[numpy.get_include()],
            define_macros=macros,
            # -fno-math-errno: sqrt need not set errno, so the optimizer loops vectorize;
            # results are unchanged (unlike -ffast-math, which stays off)
            extra_compile_args=[] if os.name == "nt" else ["-O3", "-fno-math-errno"],
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
