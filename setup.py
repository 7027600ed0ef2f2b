"""Builds the optional C extension codec._native (the compiled step and the case-run coder); the
project's metadata is in pyproject.toml. Without a C compiler the install still succeeds: the numpy
reference does the extension's work, 50-100 times slower (dnacodec warns when it runs so)."""

import sys

from setuptools import Extension, setup

sys.path.insert(0, "codec")
from native_sources import SOURCES, digest  # noqa: E402  (codec/native_sources.py: no imports of the package)

if sys.platform == "win32":  # pragma: no cover
    _FLAGS, _LINK = ["/O2", "/openmp"], []
else:
    # -fwrapv: signed overflow wraps, as numpy's int64 arithmetic does
    _FLAGS, _LINK = ["-O2", "-fwrapv", "-fopenmp", "-std=c99"], ["-fopenmp"]

setup(
    ext_modules=[
        Extension(
            "codec._native",
            sources=[f"codec/native/{name}" for name in SOURCES],
            # the sources' digest: codec/extension.py refuses a build older than the checkout's sources
            define_macros=[("DNAC_SOURCES_DIGEST", f'"{digest()}"')],
            extra_compile_args=_FLAGS,
            extra_link_args=_LINK,
            optional=True,
        )
    ]
)
