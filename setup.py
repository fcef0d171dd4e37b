"""Build of talkmesh-jax: setuptools plus a CMake build of the C++ extensions talkmesh_jax._batcher
(windowed batching) and talkmesh_jax._attention (the CPU attention kernel, an XLA FFI call).

Metadata and dependencies live in pyproject.toml; this file only teaches build_ext to run CMake
(cmake, ninja, pybind11 and jaxlib, for XLA's FFI headers, come from the build requirements, so
only a C++ compiler is needed).
Extra CMake arguments can be given in the CMAKE_ARGS environment variable, e.g.
CMAKE_ARGS="-DTALKMESH_SANITIZE=address".
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


def xla_ffi_include_dir() -> str:
    """jaxlib's include directory (XLA's FFI headers), without importing jax."""
    import importlib.util

    spec = importlib.util.find_spec("jaxlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("building talkmesh_jax._attention needs jaxlib (XLA's FFI headers)")
    return str(Path(spec.submodule_search_locations[0]) / "include")


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        import pybind11

        out_file = Path(self.get_ext_fullpath(ext.name)).resolve()
        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        build_type = "Debug" if self.debug else "Release"
        configure = [
            "cmake",
            "-S",
            str(ROOT),
            "-B",
            str(build_dir),
            "-G",
            "Ninja",
            f"-DCMAKE_BUILD_TYPE={build_type}",
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={out_file.parent}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DXLA_FFI_INCLUDE_DIR={xla_ffi_include_dir()}",
            *shlex.split(os.environ.get("CMAKE_ARGS", "")),
        ]
        subprocess.run(configure, check=True)
        target = ext.name.rsplit(".", 1)[1]
        subprocess.run(["cmake", "--build", str(build_dir), "--target", target], check=True)


setup(
    ext_modules=[
        CMakeExtension("talkmesh_jax._batcher"),
        CMakeExtension("talkmesh_jax._attention"),
    ],
    cmdclass={"build_ext": CMakeBuild},
)
