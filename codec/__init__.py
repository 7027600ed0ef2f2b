"""dnacodec: lossless compression of DNA sequence files (FASTA and any other bytes).

Public API in the style of gzip/lzma/zstandard::

    import codec
    blob = codec.compress(data)            # bytes -> .dnac archive bytes
    data = codec.decompress(blob)
    with codec.open("x.fa.dnac", "rt") as f:   # rb / wb / rt / wt
        for line in f: ...

Every problem with an archive raises :class:`codec.CodecError` (a ``ValueError``).
"""

from codec.api import DnacFile, compress, decompress, open
from codec.engine import DEFAULT_LEVEL, Compressor, Decompressor
from formats.errors import CodecError

__version__ = "0.1.0"
__all__ = ["open", "compress", "decompress", "DnacFile", "Compressor", "Decompressor", "CodecError",
           "DEFAULT_LEVEL", "__version__"]
