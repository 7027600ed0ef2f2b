"""dnacodec: lossless compression of DNA sequence files (FASTA and any other bytes).

Public API in the style of gzip/lzma/zstandard::

    import codec
    blob = codec.compress(data)            # bytes -> .dnac archive bytes
    data = codec.decompress(blob)
    with codec.open("x.fa.dnac", "rt") as f:   # rb / wb / rt / wt
        for line in f: ...

Every problem with an archive raises :class:`codec.CodecError` (a ``ValueError``).

The names below are loaded on first use (PEP 562), so that importing a submodule, such as the
command-line tool :mod:`codec.cli`, does not load numpy before that module has set itself up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
_EXPORTS = {
    "open": "codec.api", "compress": "codec.api", "decompress": "codec.api", "DnacFile": "codec.api",
    "Compressor": "codec.engine", "Decompressor": "codec.engine", "DEFAULT_LEVEL": "codec.engine",
    "CodecError": "formats.errors",
}
__all__ = ["open", "compress", "decompress", "DnacFile", "Compressor", "Decompressor", "CodecError",
           "DEFAULT_LEVEL", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from codec.api import DnacFile, compress, decompress, open
    from codec.engine import DEFAULT_LEVEL, Compressor, Decompressor
    from formats.errors import CodecError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:  # a submodule not imported yet, as ``import codec`` once loaded codec.api and codec.engine
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {name for name in globals() if name.startswith("__")})
