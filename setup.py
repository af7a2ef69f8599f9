"""Build the compiled extensions of fastmlp.

The element-wise kernels, the engine and the small-product loops are compiled once per
x86-64 level (see ``LEVELS``) into sub-packages ``fastmlp.backend._<level>``; at import,
``fastmlp.backend`` asks the CPU (``_cpuid``) and loads the best level it can run, so one
wheel runs everywhere at the vector width of the machine (as NumPy dispatches its own
loops). Each level is built from copies of the same sources in ``build/levelsrc`` (Cython
names a module after its package, so each level needs its own copy); the sources in
``src/fastmlp/backend`` are the only ones to edit. Other processors get the baseline only;
an aarch64 build would add its own levels here (for example ``-march=armv8.2-a+sve``) and
their test in ``_cpuid.h``.

Environment switches:

* ``FASTMLP_NO_OPENMP=1`` builds without OpenMP even where the compiler has it.
* ``FASTMLP_LEVELS=baseline`` (a comma-separated subset of the level names) builds only
  those levels, for a quicker development build; the default builds every level the
  compiler can target.
* ``FASTMLP_DEBUG=1`` turns Cython's bounds/wraparound/initialization checks back on,
  keeps the debug information and compiles with AddressSanitizer. The generated C of a
  debug build goes to ``build/cython-debug`` (apart from the release C), and switching
  between debug and release rebuilds every extension, so neither build can be left over
  from the other. Run the tests under it as ``docs/reliability.md`` shows::

      FASTMLP_DEBUG=1 python setup.py build_ext --inplace
      LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" \
          ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc \
          PYTHONPATH=src python -m pytest -q -p no:cacheprovider

Release builds strip the extension modules (debug information and local symbols), which
takes each from about 2.5 MB to about 0.5 MB.
"""
import os
import platform
import runpy
import sys
import tempfile
import textwrap

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTMLP_DEBUG", "") not in ("", "0")
NO_OPENMP = os.environ.get("FASTMLP_NO_OPENMP", "") not in ("", "0")
MODE = "debug" if DEBUG else "release"

BACKEND = os.path.join("src", "fastmlp", "backend")
#: Modules compiled once per level, and the sources they are built from.
LEVEL_MODULES = ["_blas", "_kernels", "_engine"]
LEVEL_SOURCES = ["_blas.pyx", "_blas.pxd", "_kernels.pyx", "_kernels.pxd", "_math.h", "_team.h",
                 "_small.h",
                 "_engine.pyx", "_engine_threads.pxi", "_engine_passes.pxi",
                 "_engine_net.pxi.tp", "_engine_team.pxi.tp", "_engine_class.pxi.tp",
                 "_engine_testing.pxi"]
#: Level name -> (GCC/Clang flags, MSVC flags); the order is the order of preference,
#: worst first. The names and the CPU test behind each are in _cpuid.h.
X86_64_LEVELS = {
    "baseline": ([], []),
    "avx2": (["-march=x86-64-v3", "-mtune=generic"], ["/arch:AVX2"]),
    "avx512": (["-march=x86-64-v4", "-mtune=generic"], ["/arch:AVX512"]),
}


def _is_x86_64() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")


def _requested_levels() -> list[str]:
    known = list(X86_64_LEVELS) if _is_x86_64() else ["baseline"]
    wanted = os.environ.get("FASTMLP_LEVELS", "").strip()
    if not wanted:
        return known
    levels = [name.strip().lower() for name in wanted.split(",") if name.strip()]
    unknown = [name for name in levels if name not in known]
    if unknown or "baseline" not in levels:
        sys.exit(f"FASTMLP_LEVELS must list 'baseline' and any of {', '.join(known)}; "
                 f"got {wanted!r}")
    return [name for name in known if name in levels]


LEVELS = _requested_levels()


def _compiler_accepts(compiler, flags: list[str],
                      source: str = "int main(void) { return 0; }\n") -> bool:
    """Compile and link a tiny program with ``flags`` to see whether the compiler takes them."""
    source = textwrap.dedent(source)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as handle:
            handle.write(source)
        try:
            objects = compiler.compile([path], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objects, os.path.join(tmp, "probe"),
                                     extra_postargs=flags)
        except Exception:  # any failure means "not supported"
            return False
    return True


def _compiler_has_openmp(compiler) -> bool:
    """Compile and link a tiny OpenMP program to see whether ``-fopenmp`` works."""
    return _compiler_accepts(compiler, ["-fopenmp"], """
        #include <omp.h>
        int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
        """)


def _level_of(ext) -> str | None:
    parts = ext.name.split(".")
    return parts[2][1:] if len(parts) == 4 and parts[2][1:] in X86_64_LEVELS else None


class BuildExt(build_ext):
    """Per-level instruction-set flags, OpenMP where the compiler has it, stripped release
    modules; a full rebuild when the mode (debug or release) differs from the last build's."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:  # one compiler per core: seven modules to compile
            self.parallel = os.cpu_count() or 1

    def run(self):
        stamp = os.path.join(self.build_temp, "fastmlp-build-mode")
        try:
            with open(stamp) as handle:
                previous = handle.read().strip()
        except OSError:
            previous = None
        if previous != MODE:
            self.force = True
        # Cythonize when building rather than when setup.py is read, so that making the
        # sdist or the metadata neither copies nor translates anything.
        translated = {ext.name: ext for ext in extensions(cythonized=True)}
        for ext in self.extensions:  # in place: finalize_options has annotated these
            ext.sources = translated[ext.name].sources
        if self.inplace:  # the level sub-packages have no folder in the source tree
            for level in LEVELS:
                os.makedirs(os.path.join(BACKEND, f"_{level}"), exist_ok=True)
        super().run()
        os.makedirs(self.build_temp, exist_ok=True)
        with open(stamp, "w") as handle:
            handle.write(MODE)

    def build_extensions(self):
        kind = self.compiler.compiler_type
        msvc = kind == "msvc"
        use_openmp = not NO_OPENMP and (msvc or (kind == "unix"
                                                 and _compiler_has_openmp(self.compiler)))
        built = []
        for ext in list(self.extensions):
            level = _level_of(ext)
            if level is not None:
                flags = X86_64_LEVELS[level][1 if msvc else 0]
                if flags and not msvc and not _compiler_accepts(self.compiler, flags):
                    print(f"fastmlp: the compiler cannot target {level}; skipping it",
                          file=sys.stderr)
                    self.extensions.remove(ext)
                    continue
                ext.extra_compile_args += flags
                if level not in built:
                    built.append(level)
            if use_openmp:
                ext.extra_compile_args.append("/openmp" if msvc else "-fopenmp")
                if not msvc:
                    ext.extra_link_args.append("-fopenmp")
            if kind == "unix" and DEBUG:
                ext.extra_compile_args += ["-fsanitize=address", "-fno-omit-frame-pointer",
                                           "-O1", "-g"]
                ext.extra_link_args += ["-fsanitize=address"]
            elif kind == "unix":  # strip: no debug information, no local symbols
                ext.extra_compile_args.append("-g0")
                ext.extra_link_args.append("-Wl,-x" if sys.platform == "darwin" else "-s")
        print(f"fastmlp: building levels {', '.join(built)}, OpenMP "
              f"{'on' if use_openmp else 'off'}"
              f"{', debug checks + AddressSanitizer' if DEBUG else ''}", file=sys.stderr)
        super().build_extensions()


def _level_sources(level: str) -> str:
    """Copy the level modules' sources into ``build/levelsrc/fastmlp/backend/_<level>``,
    with the Tempita templates (``.tp``) rendered and the generated ``_ids.pxi`` and ``_ids.h``
    (each rewritten only when changed, so that an unchanged level is not recompiled)."""
    root = os.path.join("build", "levelsrc")
    folder = os.path.join(root, "fastmlp", "backend", f"_{level}")
    os.makedirs(folder, exist_ok=True)
    for package in (os.path.join(root, "fastmlp"), os.path.join(root, "fastmlp", "backend"),
                    folder):  # Cython finds a module's package from these files
        open(os.path.join(package, "__init__.py"), "a").close()
    for name in LEVEL_SOURCES:
        target = os.path.join(folder, name)
        with open(os.path.join(BACKEND, name), "rb") as handle:
            text = handle.read()
        if name.endswith(".tp"):  # a Tempita template: its rendering is the source
            from Cython import Tempita

            text = Tempita.sub(text.decode("utf-8")).encode("utf-8")
            target = target[:-len(".tp")]
        _write_if_changed(target, text)
    _write_if_changed(os.path.join(folder, "_ids.pxi"), _ids_pxi())
    _write_if_changed(os.path.join(folder, "_ids.h"), _ids_h())
    return folder


def _write_if_changed(target: str, data: bytes) -> None:
    """Write ``data`` to ``target`` unless it holds them already (an unchanged file keeps
    its time, so Cython does not translate its dependents again)."""
    try:
        with open(target, "rb") as handle:
            if handle.read() == data:
                return
    except OSError:
        pass
    with open(target, "wb") as handle:
        handle.write(data)


def _ids_values(kind: type) -> list[tuple[str, object]]:
    """The module-level upper-case names of ``src/fastmlp/_ids.py`` whose values are of
    type ``kind``, in file order. The file is run on its own (it imports nothing), not
    imported with the package."""
    namespace = runpy.run_path(os.path.join("src", "fastmlp", "_ids.py"))
    return [(name, value) for name, value in namespace.items()
            if name.isupper() and type(value) is kind]


def _ids_pxi() -> bytes:
    """``_ids.pxi`` (included by ``_kernels.pxd``): every module-level integer of
    ``src/fastmlp/_ids.py``, the one definition of the ids and layouts both sides use, as
    a member of a ``cpdef enum``."""
    members = [f"    {name} = {value}\n" for name, value in _ids_values(int)]
    return ("# Generated by setup.py from src/fastmlp/_ids.py: edit that file instead.\n"
            "cpdef enum:\n" + "".join(members)).encode()


def _ids_h() -> bytes:
    """``_ids.h`` (included by ``_math.h`` and ``_kernels.pyx``): every module-level float
    of ``src/fastmlp/_ids.py`` as a C macro ``FASTMLP_<NAME>`` (``repr`` gives the digits
    that read back as the same double)."""
    defines = [f"#define FASTMLP_{name} {value!r}\n" for name, value in _ids_values(float)]
    return ("/* Generated by setup.py from src/fastmlp/_ids.py: edit that file instead. */\n"
            "#ifndef FASTMLP_IDS_H\n#define FASTMLP_IDS_H\n" + "".join(defines)
            + "#endif\n").encode()


def extensions(cythonized: bool = False):
    """The extension modules: the CPU test and each level's three modules; translated to C
    (which first copies each level's sources) only when ``cythonized``."""
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    # -fno-math-errno: sqrt need not set errno, so the optimizer loops vectorize;
    # -fno-trapping-math: branches on float comparisons may become selects, so those loops
    # vectorize too. Neither changes a computed value (Python never enables floating-point
    # traps); -ffast-math, which would, stays off. -ffp-contract=off: no fused multiply-adds
    # the source does not write, so that every level computes exactly the same values.
    common = ([] if os.name == "nt"
              else ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"])
    exts = [Extension("fastmlp.backend._cpuid", [os.path.join(BACKEND, "_cpuid.pyx")],
                      include_dirs=[BACKEND], extra_compile_args=list(common))]
    for level in LEVELS:
        folder = (_level_sources(level) if cythonized
                  else os.path.join("build", "levelsrc", "fastmlp", "backend", f"_{level}"))
        # a header's edit must rebuild the modules even when their C files stay the same
        headers = [os.path.join(folder, name) for name in [*LEVEL_SOURCES, "_ids.h"]
                   if name.endswith(".h")]
        exts += [Extension(f"fastmlp.backend._{level}.{name}",
                           [os.path.join(folder, f"{name}.pyx")],
                           include_dirs=[numpy.get_include(), folder], define_macros=macros,
                           extra_compile_args=list(common), depends=headers)
                 for name in LEVEL_MODULES]
    if not cythonized:
        return exts
    directives = {
        "language_level": 3,
        "boundscheck": DEBUG,
        "wraparound": DEBUG,
        "initializedcheck": DEBUG,
        "cdivision": True,
        "embedsignature": True,
    }
    return cythonize(exts, compiler_directives=directives, annotate=False,
                     include_path=[os.path.join("build", "levelsrc")],
                     nthreads=0 if os.name == "nt" else (os.cpu_count() or 1),
                     build_dir=os.path.join("build", "cython-debug") if DEBUG else None)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
