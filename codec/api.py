"""File-object and one-shot interface to `.dnac` archives, modelled on :mod:`lzma` and :mod:`gzip`.

* :class:`DnacFile` -- a binary file object that compresses on write and decompresses on read;
* :func:`open` -- :class:`DnacFile` in binary mode, or wrapped in :class:`io.TextIOWrapper` in text
  mode ("rt", "wt", "at", "xt");
* :func:`compress` / :func:`decompress` -- one-shot helpers for in-memory data.

An archive is a sequence of one or more self-delimiting members; reading decodes every member and
concatenates their outputs (so appending with mode "a" adds a member). Unlike :mod:`lzma`, data after
a member that does not form a valid member is an error, never silently ignored: every problem with
archive bytes (empty, foreign, corrupt, truncated, trailing garbage) raises :class:`CodecError`.
"""

from __future__ import annotations

import builtins
import io
import os
from typing import IO, Any, BinaryIO, Union

import _compression

from codec import models
from codec.constants import DEFAULT_BLOCK_SIZE
from codec.engine import DEFAULT_LEVEL, Compressor, Decompressor
from formats.errors import CodecError

__all__ = ["DnacFile", "open", "compress", "decompress", "resolve_model", "CodecError", "DEFAULT_LEVEL"]

# Archive bytes read from the underlying file per call when decompressing.
READ_SIZE = 64 * 1024

_MODE_CLOSED = 0
_MODE_READ = 1
_MODE_WRITE = 3

StrOrBytesPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
ModelArg = Union[str, "os.PathLike[str]", models.Model, None]

_EMPTY_MESSAGE = "empty input: not a dnacodec archive"
_TRUNCATED_MESSAGE = "archive is truncated (input ended inside a member)"


def resolve_model(model: ModelArg) -> models.Model | None:
    """The model to offer the decoder: None, a :class:`codec.models.Model`, a bundled name or a path.

    Archives name the model they were made with; a bundled model is found automatically, any other
    one (made from a model file) must be supplied when decompressing.
    """
    if model is None or isinstance(model, models.Model):
        return model
    return models.resolve(model, DEFAULT_LEVEL)


def _decompressor_args(model: ModelArg, device: str = "cpu", memlimit: int | None = None) -> dict[str, Any]:
    resolved = resolve_model(model)
    args: dict[str, Any] = {"device": device, "memlimit": memlimit}
    if resolved is not None:
        args["model"] = resolved
    return args


class _DnacReader(_compression.DecompressReader):
    """``DecompressReader`` that is strict: trailing data must form members, truncation is a CodecError."""

    def __init__(self, fp: BinaryIO, **decomp_args: Any) -> None:
        # No trailing_error: a CodecError from the member after a complete one propagates.
        super().__init__(fp, Decompressor, trailing_error=(), **decomp_args)
        self._started = False  # any archive byte seen since the last rewind

    def _read_raw(self) -> bytes:
        block = self._fp.read(READ_SIZE)
        if block:
            self._started = True
        return block

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return self.readall()
        if not size or self._eof:
            return b""
        data = b""
        # A call to the decompressor may return no data (it buffers whole blocks): keep feeding it.
        while True:
            if self._decompressor.eof:
                rawblock = self._decompressor.unused_data or self._read_raw()
                if not rawblock:
                    break  # clean end after a complete member
                # Another member follows (or trailing garbage, which raises CodecError).
                self._decompressor = self._decomp_factory(**self._decomp_args)
                data = self._decompressor.decompress(rawblock, size)
            else:
                if self._decompressor.needs_input:
                    rawblock = self._read_raw()
                    if not rawblock:
                        raise CodecError(_TRUNCATED_MESSAGE if self._started else _EMPTY_MESSAGE)
                else:
                    rawblock = b""
                data = self._decompressor.decompress(rawblock, size)
            if data:
                break
        if not data:
            self._eof = True
            self._size = self._pos
            return b""
        self._pos += len(data)
        return data

    def _rewind(self) -> None:
        super()._rewind()
        self._started = False


class _TextFile(io.TextIOWrapper):
    """Text mode over a :class:`DnacFile`, which it leaves unfinished on the same occasions."""

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.buffer._abandon()  # type: ignore[attr-defined]
        self.close()

    def __del__(self) -> None:
        try:
            buffer = self.buffer
        except ValueError:  # detached, or never initialised
            return
        buffer._abandon()  # type: ignore[attr-defined]


class DnacFile(_compression.BaseStream):
    """A binary file object that transparently compresses to / decompresses from a `.dnac` archive.

    ``filename`` is a path (str, bytes or os.PathLike), in which case that file is opened, or an
    existing binary file object to read from or write to (it is not closed by :meth:`close`).

    ``mode`` is "r"/"rb" (read, default), "w"/"wb" (truncate and write), "x"/"xb" (create
    exclusively) or "a"/"ab" (append a new member). When writing, ``level`` (1..9), ``model`` (a
    bundled model name or a model file path) and ``block_size`` select the compression settings;
    ``embed_model`` stores the model in the archive so it decodes without any registry (archival
    use). When reading, ``level`` and ``block_size`` must be None and ``model`` is only needed for
    archives made with a model file that is not embedded. ``device`` ("cpu", "cuda", ...) is where
    the neural predictor runs; every device gives identical bytes. ``memlimit`` (bytes, like
    ``lzma``'s) refuses with :class:`CodecError` settings or archives that need more memory
    (:func:`codec.engine.memory_needed`), before any table is allocated. ``size_hint`` (writing):
    about how many bytes will be written, like python-zstandard's ``size``; a small input then gets
    its level's model with smaller tables (:class:`codec.engine.Compressor`).

    Reading decodes every concatenated member. Seeking is supported when reading from a seekable
    file, but is emulated by decompressing (and, backwards, by restarting from the beginning).
    Written data reaches the underlying file in whole blocks (of at most ``block_size`` bytes of
    input, default 8 MiB), the archive header with the first one (its model is chosen from that
    block's input); the archive is only complete once :meth:`close` has been called.
    An archive that is not finished -- the ``with`` block was left by an exception (Ctrl-C
    included), a write failed (e.g. disk full), the file was never closed, or the process was
    killed -- gets no footer (or, before its first block, no bytes at all), so reading it raises
    :class:`CodecError` ("truncated", or "empty input") instead of returning partial data as if it
    were complete.
    """

    def __init__(
        self,
        filename: StrOrBytesPath | IO[bytes],
        mode: str = "r",
        *,
        level: int | None = None,
        model: ModelArg = None,
        block_size: int | None = None,
        embed_model: bool = False,
        device: str = "cpu",
        memlimit: int | None = None,
        size_hint: int | None = None,
    ) -> None:
        self._fp: Any = None
        self._closefp = False
        self._mode = _MODE_CLOSED
        self._buffer: io.BufferedReader | None = None
        self._compressor: Compressor | None = None
        self._pos = 0

        if mode in ("r", "rb"):
            if level is not None or block_size is not None or size_hint is not None:
                raise ValueError("Cannot specify a compression level, block size or size hint when reading")
            decomp_args = _decompressor_args(model, device, memlimit)
            mode_code = _MODE_READ
        elif mode in ("w", "wb", "a", "ab", "x", "xb"):
            mode_code = _MODE_WRITE
            self._compressor = Compressor(
                DEFAULT_LEVEL if level is None else level, model,  # type: ignore[arg-type]
                block_size=DEFAULT_BLOCK_SIZE if block_size is None else block_size,
                embed_model=embed_model, device=device, memlimit=memlimit, size_hint=size_hint)
        else:
            raise ValueError(f"Invalid mode: {mode!r}")

        if isinstance(filename, (str, bytes, os.PathLike)):
            if "b" not in mode:
                mode += "b"
            self._fp = builtins.open(filename, mode)
            self._closefp = True
            self._name: Any = os.fspath(filename)
        elif hasattr(filename, "read") or hasattr(filename, "write"):
            self._fp = filename
            self._name = getattr(filename, "name", "")
        else:
            raise TypeError("filename must be a str, bytes, file or PathLike object")
        self._mode_str = mode if mode.endswith("b") else mode + "b"
        if mode_code == _MODE_READ:
            try:
                self._buffer = io.BufferedReader(_DnacReader(self._fp, **decomp_args))
            except BaseException:  # e.g. Ctrl-C while the model loads: nothing is open then
                if self._closefp:
                    self._fp.close()
                raise
        self._mode = mode_code  # open only now, so that close() and __del__ find a whole object

    # -- state -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the archive (when writing) and close the file.

        May be called more than once. Once closed, any other operation raises ValueError.
        """
        if self._mode == _MODE_CLOSED:
            return
        try:
            if self._mode == _MODE_READ:
                assert self._buffer is not None
                self._buffer.close()
                self._buffer = None
            elif self._compressor is not None:  # None: abandoned, the footer must not be written
                compressor, self._compressor = self._compressor, None
                self._fp.write(compressor.flush())
        finally:
            try:
                if self._closefp:
                    self._fp.close()
            finally:
                self._fp = None
                self._closefp = False
                self._mode = _MODE_CLOSED

    def _abandon(self) -> None:
        """Close without finishing: an archive being written is left without its footer."""
        self._compressor = None
        self.close()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:  # an interrupted or failed writer must not look complete
            self._abandon()
        else:
            self.close()

    def __del__(self) -> None:
        # Never closed: do not finish the archive (unlike gzip), as this is how a program that died of
        # an exception ends; only close() writes the footer.
        if getattr(self, "_mode", _MODE_CLOSED) != _MODE_CLOSED:
            self._abandon()

    @property
    def closed(self) -> bool:
        """True if this file is closed."""
        return self._mode == _MODE_CLOSED

    @property
    def name(self) -> Any:
        """The path given to the constructor, or the ``name`` of the file object ("" if none)."""
        return self._name

    @property
    def mode(self) -> str:
        """The binary mode the file was opened with: "rb", "wb", "ab" or "xb"."""
        return self._mode_str

    def fileno(self) -> int:
        """Return the file descriptor of the underlying file."""
        self._check_not_closed()
        return self._fp.fileno()

    def seekable(self) -> bool:
        """Return whether the file supports (emulated) seeking: only when reading a seekable file."""
        return self.readable() and self._buffer.seekable()  # type: ignore[union-attr]

    def readable(self) -> bool:
        """Return whether the file was opened for reading."""
        self._check_not_closed()
        return self._mode == _MODE_READ

    def writable(self) -> bool:
        """Return whether the file was opened for writing."""
        self._check_not_closed()
        return self._mode == _MODE_WRITE

    # -- reading ---------------------------------------------------------------------------------

    def peek(self, size: int = -1) -> bytes:
        """Return buffered data without advancing the position (at least one byte unless at EOF)."""
        self._check_can_read()
        # BufferedReader.peek() always returns at least one byte except at EOF.
        return self._buffer.peek(size)  # type: ignore[union-attr]

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` uncompressed bytes (all remaining ones if negative or None)."""
        self._check_can_read()
        return self._buffer.read(size)  # type: ignore[union-attr]

    def read1(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes with at most one read of the underlying stream; b"" at EOF."""
        self._check_can_read()
        if size < 0:
            size = io.DEFAULT_BUFFER_SIZE
        return self._buffer.read1(size)  # type: ignore[union-attr]

    def readinto(self, b: Any) -> int:
        """Read bytes into a pre-allocated writable buffer; return the number of bytes read."""
        self._check_can_read()
        return self._buffer.readinto(b)  # type: ignore[union-attr]

    def readinto1(self, b: Any) -> int:
        """Like :meth:`readinto`, with at most one read of the underlying stream."""
        self._check_can_read()
        return self._buffer.readinto1(b)  # type: ignore[union-attr]

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line (keeping its b"\\n"), at most ``size`` bytes if non-negative; b"" at EOF."""
        self._check_can_read()
        return self._buffer.readline(size)  # type: ignore[union-attr]

    # -- writing ---------------------------------------------------------------------------------

    def write(self, data: Any) -> int:
        """Compress and write a bytes-like object; return its length in bytes.

        Due to block buffering, the underlying file may not reflect the data until :meth:`close`.
        """
        self._check_can_write()
        if self._compressor is None:
            raise ValueError("an earlier write failed: the archive cannot be completed")
        if isinstance(data, bytes):
            length = len(data)
        elif isinstance(data, bytearray):
            length = len(data)
            data = bytes(data)
        else:  # any object supporting the buffer protocol
            view = memoryview(data)
            length = view.nbytes
            data = view.tobytes()
        try:
            compressed = self._compressor.compress(data)
            if compressed:
                self._fp.write(compressed)
        except BaseException:  # e.g. disk full or Ctrl-C: a block may be lost, never finish the archive
            self._compressor = None
            raise
        self._pos += length
        return length

    def flush(self) -> None:
        """Flush the underlying file (buffered blocks are only written out by :meth:`close`)."""
        self._check_not_closed()
        if self._mode == _MODE_WRITE and hasattr(self._fp, "flush"):
            self._fp.flush()

    # -- positioning -----------------------------------------------------------------------------

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Change the (uncompressed) position; return the new position.

        ``whence`` is 0 (start, default), 1 (current position) or 2 (end). Seeking is emulated by
        decompressing, so it may be very slow; seeking backwards restarts from the beginning.
        """
        self._check_can_seek()
        return self._buffer.seek(offset, whence)  # type: ignore[union-attr]

    def tell(self) -> int:
        """Return the current uncompressed position."""
        self._check_not_closed()
        if self._mode == _MODE_READ:
            return self._buffer.tell()  # type: ignore[union-attr]
        return self._pos


def open(  # noqa: A001 - mirrors gzip.open / lzma.open
    filename: StrOrBytesPath | IO[bytes],
    mode: str = "rb",
    *,
    level: int | None = None,
    model: ModelArg = None,
    block_size: int | None = None,
    embed_model: bool = False,
    device: str = "cpu",
    memlimit: int | None = None,
    size_hint: int | None = None,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
) -> DnacFile | io.TextIOWrapper:
    """Open a `.dnac` archive in binary or text mode.

    ``filename`` is a path or an existing file object. ``mode`` is "r", "rb" (default), "w", "wb",
    "x", "xb", "a" or "ab" for binary mode, or "rt", "wt", "xt" or "at" for text mode.
    ``level``, ``model``, ``block_size``, ``embed_model``, ``device``, ``memlimit`` and ``size_hint``
    are as for :class:`DnacFile`.

    Binary mode returns a :class:`DnacFile` (``encoding``, ``errors`` and ``newline`` must then be
    None); text mode wraps it in an :class:`io.TextIOWrapper` with those arguments, which like
    :class:`DnacFile` leaves the archive unfinished when not closed or left by an exception.
    """
    if "t" in mode:
        if "b" in mode:
            raise ValueError(f"Invalid mode: {mode!r}")
    else:
        if encoding is not None:
            raise ValueError("Argument 'encoding' not supported in binary mode")
        if errors is not None:
            raise ValueError("Argument 'errors' not supported in binary mode")
        if newline is not None:
            raise ValueError("Argument 'newline' not supported in binary mode")

    binary_file = DnacFile(filename, mode.replace("t", ""), level=level, model=model, block_size=block_size,
                           embed_model=embed_model, device=device, memlimit=memlimit, size_hint=size_hint)
    if "t" in mode:
        encoding = io.text_encoding(encoding)
        return _TextFile(binary_file, encoding, errors, newline)
    return binary_file


def compress(data: Any, *, level: int = DEFAULT_LEVEL, model: ModelArg = None, embed_model: bool = False,
             device: str = "cpu", memlimit: int | None = None) -> bytes:
    """Compress a bytes-like object into one complete archive member.

    ``level`` is 1..9; ``model`` is a bundled model name or a model file path (default: the
    level's bundled model); ``embed_model`` stores the model in the archive; ``device`` is where the
    neural predictor runs (the bytes are identical on every device); ``memlimit`` (bytes) refuses
    a level or model that needs more memory with :class:`CodecError`.

    For incremental compression use :class:`codec.engine.Compressor` or :class:`DnacFile`.
    """
    if not isinstance(data, bytes):
        data = memoryview(data).tobytes()
    comp = Compressor(level, model, embed_model=embed_model, device=device, memlimit=memlimit, size_hint=len(data))
    return comp.compress(data) + comp.flush()


def decompress(data: Any, *, model: ModelArg = None, device: str = "cpu", memlimit: int | None = None) -> bytes:
    """Decompress an archive (one or more concatenated members) held in a bytes-like object.

    ``model`` is only needed for archives made with a model file (see :class:`DnacFile`).
    Raises :class:`CodecError` if ``data`` is empty, is not an archive, is corrupt or truncated,
    has trailing bytes that are not a valid member, or needs more memory than ``memlimit`` bytes.
    """
    if not isinstance(data, bytes):
        data = memoryview(data).tobytes()
    if not data:
        raise CodecError(_EMPTY_MESSAGE)
    decomp_args = _decompressor_args(model, device, memlimit)
    results = []
    while True:
        decomp = Decompressor(**decomp_args)
        results.append(decomp.decompress(data))
        if not decomp.eof:
            raise CodecError(_TRUNCATED_MESSAGE)
        data = decomp.unused_data
        if not data:
            break
    return b"".join(results)
