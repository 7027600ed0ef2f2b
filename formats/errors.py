"""The single exception type for every problem with an archive or its streams."""


class CodecError(ValueError):
    """An archive (or one of its streams) is corrupt, truncated, foreign or unsupported."""
