"""On-disk formats: the `.dnac` container (construct declarations) and the FASTA layout streams."""

from formats.errors import CodecError

__all__ = ["CodecError"]
