"""The stream engine: bytes -> blocks -> layout streams -> predictor + coder -> container, and back.

:class:`Compressor` and :class:`Decompressor` follow the lzma/zstandard object protocol so that the
file objects in :mod:`codec.api` are thin wrappers (CPython's ``_compression.DecompressReader``).
Input is cut into blocks of at most ``block_size`` original bytes (at a line end when possible);
each block is split into layout streams (``formats.fasta_layout``), its ACGT bases are laid out in
lanes and entropy-coded with the predictor's frequencies, and the block is written as soon as it is
complete, so memory is bounded by the block size whatever the input size. The predictor's state
carries from block to block.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import zstandard

from codec import allocator, model_choice, models
from codec.coder import LaneDecoder, active_counts, encode as rans_encode
from codec.constants import (
    DEFAULT_BLOCK_SIZE, FREQ_TOTAL, LEVEL_LANE_BASES, MAX_BLOCK_SIZE, MAX_LANES, MIN_LANE_BASES, PRIMED_LANE_BASES,
)
from codec.predictors import encode_block, small_matrix_threads
from formats import container as fmt
from formats import fasta_layout
from formats.errors import CodecError

DEFAULT_LEVEL = 6
DEFAULT_LANES = 1024
LEVELS = range(1, 10)
_ZSTD_LEVEL = {1: 3, 2: 6, 3: 9, 4: 12, 5: 15, 6: 17, 7: 19, 8: 19, 9: 19}
_MAX_STREAMS = 8
_MIN_HINTED_BLOCK_SIZE = 1 << 20  # the smallest block a size hint picks (a wrong hint stays cheap)
_CHOICE_SAMPLE_BYTES = 256 << 10  # input the level's model choice first looks at (codec/model_choice.py)
# memory_needed() beyond the model's tables, from peak RSS on 8 MiB blocks of 1,024 lanes (spec/LEVELS.md):
# the buffers of one block (input, layout streams, lane grids, frequencies) per byte of block size, the
# per-lane model state (mixer weights, local models: 2-5 KiB per lane in the bundled models), and the
# interpreter with numpy loaded
_BLOCK_BUFFER_FACTOR = 26
_LANE_BYTES = 8 << 10
_RUNTIME_BYTES = 120 << 20


def memory_needed(model: models.Model, block_size: int = DEFAULT_BLOCK_SIZE, lanes: int = DEFAULT_LANES) -> int:
    """About the most memory, in bytes, a compressor or decompressor of ``model`` with blocks of
    ``block_size`` bytes and up to ``lanes`` lanes uses (an upper estimate, like xz's "Memory
    needed")."""
    return model.memory_bytes() + _BLOCK_BUFFER_FACTOR * block_size + _LANE_BYTES * lanes + _RUNTIME_BYTES


class MemoryLimitError(CodecError):
    """The settings or the archive need more memory than the ``memlimit`` given."""


def _fits(model: models.Model, block_size: int, lanes: int, memlimit: int | None) -> bool:
    return memlimit is None or memory_needed(model, block_size, lanes) <= memlimit


def _check_memlimit(model: models.Model, block_size: int, lanes: int, memlimit: int | None, what: str) -> None:
    if not _fits(model, block_size, lanes, memlimit):
        need = memory_needed(model, block_size, lanes)
        raise MemoryLimitError(f"{what} needs about {_mib(need)} of memory, more than the limit of {_mib(memlimit)}")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


def lane_lengths(n: int, lanes: int) -> np.ndarray:
    """Lengths of ``lanes`` contiguous lanes over ``n`` bases: the first ``n % lanes`` get one more."""
    out = np.full(lanes, n // lanes, dtype=np.int64)
    out[: n % lanes] += 1
    return out


def lanes_for(n_bases: int, lanes_max: int, min_lane_bases: int = MIN_LANE_BASES) -> int:
    """Lane count the encoder uses for a block of ``n_bases``: as many as fit while each lane keeps
    at least ``min_lane_bases`` bases (every lane costs a coder flush and a cold context start)."""
    return int(min(lanes_max, max(1, n_bases // min_lane_bases)))


def to_lanes(values: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """(T, lanes) steps of a block's per-base ``values`` cut into contiguous lanes of ``lens``
    (:func:`lane_lengths`: the longer lanes first); entries past a lane's end are 0."""
    steps, lanes = (int(lens[0]), len(lens)) if len(lens) else (0, 0)
    full = int(np.count_nonzero(lens == steps))
    out = np.zeros((steps, lanes), dtype=values.dtype)
    out[:, :full] = values[:full * steps].reshape(full, steps).T
    if full < lanes:
        out[:steps - 1, full:] = values[full * steps:].reshape(lanes - full, steps - 1).T
    return out


def from_lanes(steps: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_lanes`: the per-base values in block order."""
    full = int(np.count_nonzero(lens == steps.shape[0]))
    return np.concatenate([steps[:, :full].T.ravel(), steps[:-1, full:].T.ravel()])


def _case_grid(predictor, streams: dict[str, bytes], n: int, raw_size: int, lens: np.ndarray) -> np.ndarray | None:
    """The block's lowercase bits laid out like its steps ((T, lanes) uint8) where ``predictor``
    reads them (else None); computed from the side streams alone, the same way on both sides."""
    if not getattr(predictor, "reads_case", False):
        return None
    return to_lanes(fasta_layout.base_case(streams, n, raw_size).view(np.uint8), lens)


def _code_lengths() -> np.ndarray:
    """float64[FREQ_TOTAL + 1]: -log2(f / FREQ_TOTAL), the ideal bits of a symbol coded with frequency
    f; 0 for f = 0 (the entries past a lane's end)."""
    out = np.zeros(FREQ_TOTAL + 1)
    out[1:] = -np.log2(np.arange(1, FREQ_TOTAL + 1) / FREQ_TOTAL)
    return out


_IDEAL_BITS = _code_lengths()


def ideal_bits(freq: np.ndarray) -> float:
    """Ideal code length, in bits, of a block coded with the (T, lanes) frequencies ``freq`` (0 past
    a lane's end); summed over slices of steps, so that the temporaries stay small."""
    return float(sum(_IDEAL_BITS[freq[t:t + 256]].sum() for t in range(0, len(freq), 256)))


def _stream_bound(raw_size: int) -> int:
    """Largest raw side stream a block of ``raw_size`` bytes can have (the layout expands any input
    at most 3-fold: an isolated exception byte costs a value, a gap and a length)."""
    return 4 * raw_size + 4096


def _backend_for(device: str, backend: str | None) -> tuple[str, str]:
    """(backend, device) of the neural predictor: numpy on the CPU unless torch is asked for; torch
    on any other device. Every choice computes identical frequencies (spec/NEURAL.md)."""
    if backend is None:
        backend = "numpy" if device == "cpu" else "torch"
    if backend not in ("numpy", "torch") or (backend == "numpy" and device != "cpu"):
        raise ValueError(f"unsupported backend {backend!r} on device {device!r}")
    if backend == "torch":
        try:
            import torch
        except ImportError:
            raise ValueError("device/backend torch needs PyTorch (pip install 'dnacodec[torch]')") from None
        try:
            kind = torch.device(device).type
        except (RuntimeError, ValueError):
            raise ValueError(f"unknown device {device!r} (cpu, cuda, cuda:N, ...)") from None
        if kind == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: CUDA is not available on this machine")
    return backend, device


def check_device(device: str) -> None:
    """Raise ValueError (with a message naming the problem) unless the network can run on ``device``."""
    _backend_for(device, None)


# -- compression ------------------------------------------------------------------------------
class Compressor:
    """Incremental compressor: ``compress(data)`` returns archive bytes produced so far, ``flush()``
    finishes the archive. Like ``zstandard.ZstdCompressor().compressobj()``.

    ``size_hint`` (bytes), like zstd's: about how much input this member will hold. With the level's
    model (``model`` None), an input small enough gets the model's sized variant (``NAME@bits``,
    :func:`codec.models.sized`), whose smaller tables cost less memory and start-up; a wrong hint
    only costs compression, never correctness.

    ``memlimit`` (bytes): a level or model whose :func:`memory_needed` exceeds it raises
    :class:`CodecError` here, and the level's model is not switched to a primed one that exceeds it."""

    def __init__(self, level: int = DEFAULT_LEVEL, model: models.Model | str | None = None, *,
                 block_size: int = DEFAULT_BLOCK_SIZE, lanes: int = DEFAULT_LANES,
                 min_lane_bases: int | None = None, embed_model: bool = False,
                 device: str = "cpu", backend: str | None = None,
                 format_minor: int = fmt.VERSION_MINOR, memlimit: int | None = None,
                 size_hint: int | None = None) -> None:
        if level not in LEVELS:
            raise ValueError(f"level must be 1..9, not {level!r}")
        if not 1 <= lanes <= MAX_LANES:
            raise ValueError(f"lanes must be 1..{MAX_LANES}")
        if not 1 <= block_size <= MAX_BLOCK_SIZE:
            raise ValueError(f"block_size must be 1..{MAX_BLOCK_SIZE}")
        if not 0 <= format_minor <= fmt.VERSION_MINOR:
            raise ValueError(f"format_minor must be 0..{fmt.VERSION_MINOR}")
        allocator.tune()
        self._format_minor = format_minor
        if size_hint is not None and size_hint < 0:
            raise ValueError("size_hint must be >= 0")
        if size_hint is not None:  # smaller blocks only bound the memory a decoder must plan for
            block_size = min(block_size, max(size_hint, _MIN_HINTED_BLOCK_SIZE))
        self._model = models.resolve(model, level)
        self._auto_model = model is None  # the level's model: the input may pick another (model_choice)
        # the level's model sized for the input; the model choice still starts from the level's
        self._size_hint = size_hint
        self._sized_model = models.sized(self._model, size_hint) if self._auto_model else self._model
        _check_memlimit(self._sized_model, block_size, lanes, memlimit,
                        f"level {level}" if model is None else "the model")
        self._memlimit = memlimit
        self._level = level
        self._lanes = lanes
        self._block_size = block_size
        self._min_lane_bases = max(1, LEVEL_LANE_BASES[level] if min_lane_bases is None else min_lane_bases)
        self._auto_lanes = min_lane_bases is None
        self._embed = embed_model
        self._backend = _backend_for(device, backend)
        self._predictor = None
        self._zstd = zstandard.ZstdCompressor(level=_ZSTD_LEVEL[level])
        self._zstd_probe = zstandard.ZstdCompressor(level=3)
        self._buf = bytearray()
        self._started = False
        self._finished = False
        self._offset = 0  # archive bytes written
        self._raw_total = 0
        self._sha = hashlib.sha256()
        self._index: list[dict] = []
        #: bases coded, body bytes written, and the model's ideal code length of those bases
        self.stats = {"bases": 0, "body_bytes": 0, "ideal_body_bits": 0.0}

    def compress(self, data: bytes) -> bytes:
        if self._finished:
            raise ValueError("compressor already flushed")
        self._buf += data
        if not self._started and len(self._buf) <= self._block_size:
            return b""  # the header names the model, which the first block's input picks
        out = [self._header()]
        while len(self._buf) > self._block_size:
            out.append(self._block(self._cut()))
        return b"".join(out)

    def flush(self) -> bytes:
        if self._finished:
            raise ValueError("compressor already flushed")
        out = [self._header()]
        while self._buf:
            out.append(self._block(self._cut()))
        self._finished = True
        out.append(fmt.build_footer(self._index, self._raw_total, self._sha.digest()))
        return b"".join(out)

    def _header(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        if self._auto_model:
            self._model = self._choose_model()
        header = fmt.build_header(
            level=self._level, lanes=self._lanes, block_size=self._block_size,
            model_name=self._model.name, model_fingerprint=self._model.fingerprint,
            model_bytes=self._model.data if self._embed else b"", version_minor=self._format_minor)
        self._offset += len(header)
        return header

    def _choose_model(self) -> models.Model:
        """The model this member is coded with: the level's, sized for the input, or the alternative
        that model_choice picks from the first block's bases, if it fits the memory limit (a primed
        one on its longer lanes)."""
        if not model_choice.switches(self._level):
            return self._sized_model
        alternative = model_choice.choose(self._level, self._model, self._sample())
        if alternative is self._model:
            return self._sized_model
        sized = models.sized(alternative, self._size_hint)
        if not _fits(sized, self._block_size, self._lanes, self._memlimit):
            return self._sized_model
        if self._auto_lanes and alternative.name == model_choice.PRIMED.get(self._level):
            self._min_lane_bases = PRIMED_LANE_BASES[self._level]
        return sized

    def _sample(self) -> np.ndarray:
        """The first bases of the first block's input (at least model_choice.REPEAT_SAMPLE_BASES where
        it has them), for the model choice: a prefix, doubled while it is short of bases (a
        chromosome may start with megabases of N)."""
        size, end = _CHOICE_SAMPLE_BYTES, min(len(self._buf), self._block_size)
        while True:
            bases = fasta_layout.split(bytes(self._buf[:size])).bases
            if len(bases) >= model_choice.REPEAT_SAMPLE_BASES or size >= end:
                return bases
            size = min(2 * size, end)

    def _cut(self) -> bytes:
        """Take the next block from the buffer, ending it at a line end when one is near."""
        size = len(self._buf)
        if size > self._block_size:
            nl = self._buf.rfind(b"\n", self._block_size // 2, self._block_size)
            size = nl + 1 if nl >= 0 else self._block_size
        raw = bytes(self._buf[:size])
        del self._buf[:size]
        return raw

    def _block(self, raw: bytes) -> bytes:
        layout = fasta_layout.split(raw)
        n = len(layout.bases)
        side = [layout.streams[name] for name in fasta_layout.SIDE_STREAMS]
        if n == 0 or (2 * n < len(raw) and self._stored_is_smaller(raw, n, side)):
            mode, lanes, n, streams = fmt.MODE_STORED, 0, 0, [("stored", len(raw), self._pack(raw))]
        else:
            lanes = lanes_for(n, self._lanes, self._min_lane_bases)
            body = self._encode_bases(layout, lanes, len(raw))
            streams = [("body", n, body)] + [
                self._pack_side(name, s, len(raw)) for name, s in zip(fasta_layout.SIDE_STREAMS, side)]
            mode = fmt.MODE_CODED
        entry = dict(archive_offset=self._offset, raw_offset=self._raw_total, raw_size=len(raw),
                     bases=n, records=layout.records)
        block = fmt.build_block(index=len(self._index), raw_offset=self._raw_total,
                                raw_size=len(raw), raw_crc=zlib.crc32(raw), mode=mode, bases=n,
                                lanes=lanes, records=layout.records, streams=streams)
        self._index.append(entry)
        self._raw_total += len(raw)
        self._sha.update(raw)
        self._offset += len(block)
        return block

    def _stored_is_smaller(self, raw: bytes, n: int, side: list[bytes]) -> bool:
        """For a block that is mostly not ACGT: would plain zstd beat the layout with a body at
        2 bits per base? Decided with fast zstd probes (the chosen streams are packed at the
        level's zstd setting afterwards)."""
        probe = self._zstd_probe.compress
        return len(probe(raw)) < n // 4 + sum(len(probe(s)) for s in side if s)

    def _pack(self, data: bytes) -> bytes:
        return self._zstd.compress(data) if data else b""

    def _pack_side(self, name: str, data: bytes, raw_size: int) -> tuple[str, int, bytes]:
        """(stream name, raw length, stored bytes) of a layout stream: zstd-packed, or from format
        1.1 the case stream range-coded (`case_runs`) where that is smaller."""
        packed = self._pack(data)
        if name == "case" and data and self._format_minor >= 1:
            from codec import case_runs  # its coder loads when a block is coded, not with codec

            coded = case_runs.pack(fasta_layout.parse_case(data, raw_size), len(packed) - 1)
            if coded is not None:
                return "case_runs", len(data), coded
        return name, len(data), packed

    def _encode_bases(self, layout: fasta_layout.Layout, lanes: int, raw_size: int) -> bytes:
        bases = layout.bases
        if self._predictor is None:
            self._predictor = self._model.predictor(self._lanes, *self._backend)
        lens = lane_lengths(len(bases), lanes)
        steps = to_lanes(bases, lens)
        self._predictor.start_block(lens, _case_grid(self._predictor, layout.streams, len(bases), raw_size, lens))
        with small_matrix_threads():
            freq, start = encode_block(self._predictor, steps, active_counts(lens))
        body = rans_encode(freq, start, steps, lens)
        self.stats["ideal_body_bits"] += ideal_bits(freq)
        self.stats["body_bytes"] += len(body)
        self.stats["bases"] += len(bases)
        return body


# -- parsing (shared by Decompressor and inspect) ----------------------------------------------
@dataclass
class ArchiveHeader:
    level: int
    lanes: int
    block_size: int
    model: models.Model
    size: int


@dataclass
class Block:
    fixed: object
    streams: dict[str, tuple[int, bytes]]  # name -> (raw_len, stored bytes)
    size: int
    overhead: int  # bytes of block header, stream table and checksums


@dataclass
class Footer:
    entries: list
    raw_total: int
    sha256: bytes
    size: int


def parse_header(buf: memoryview, extra_model: models.Model | None = None) -> ArchiveHeader | None:
    """Parse an archive header at the start of ``buf``; None if more bytes are needed."""
    magic = fmt.MAGIC
    if bytes(buf[: len(magic)]) != magic[: min(len(buf), len(magic))]:
        raise CodecError("not a dnacodec archive (bad magic bytes)")
    if len(buf) < fmt.HEADER_FIXED_SIZE:
        return None
    h = fmt.parse_header_fixed(bytes(buf[: fmt.HEADER_FIXED_SIZE]))
    if h.model_bytes_len > models.model_file.MAX_MODEL_BYTES:
        raise CodecError(f"archive header: embedded model of {h.model_bytes_len} bytes is too large")
    size = fmt.HEADER_FIXED_SIZE + h.model_name_len + h.model_bytes_len + fmt.CRC_SIZE
    if len(buf) < size:
        return None
    fmt.check_crc(bytes(buf[: size - fmt.CRC_SIZE]), bytes(buf[size - fmt.CRC_SIZE : size]), "archive header")
    name, embedded = fmt.parse_header_tail(h, bytes(buf[fmt.HEADER_FIXED_SIZE : size - fmt.CRC_SIZE]))
    if not 1 <= h.lanes <= MAX_LANES or not 1 <= h.block_size <= MAX_BLOCK_SIZE or h.level not in LEVELS:
        raise CodecError("archive header: level, lane count or block size out of range")
    model = models.for_archive(name, h.model_fingerprint, embedded, extra_model)
    return ArchiveHeader(h.level, h.lanes, h.block_size, model, size)


def parse_block(buf: memoryview, header: ArchiveHeader, index: int, raw_offset: int) -> Block | None:
    """Parse and check block ``index`` at the start of ``buf``; None if more bytes are needed."""
    if len(buf) < fmt.BLOCK_FIXED_SIZE:
        return None
    fixed_bytes = bytes(buf[: fmt.BLOCK_FIXED_SIZE])
    b = fmt.parse_block_fixed(fixed_bytes)
    if b.n_streams > _MAX_STREAMS:
        raise CodecError(f"block {index}: {b.n_streams} streams (corrupt block header)")
    head_size = fmt.BLOCK_FIXED_SIZE + b.n_streams * fmt.STREAM_ENTRY_SIZE
    if len(buf) < head_size + fmt.CRC_SIZE:
        return None
    fmt.check_crc(bytes(buf[:head_size]), bytes(buf[head_size : head_size + fmt.CRC_SIZE]), f"block {index} header")
    table = fmt.parse_stream_table(bytes(buf[fmt.BLOCK_FIXED_SIZE : head_size]), b.n_streams)
    if b.index != index or b.raw_offset != raw_offset:
        raise CodecError(f"block {index}: out of sequence (block number {b.index}, offset {b.raw_offset})")
    if not 1 <= b.raw_size <= header.block_size or b.bases > b.raw_size:
        raise CodecError(f"block {index}: sizes out of range")
    names = [t[0] for t in table]
    if b.mode == fmt.MODE_CODED:
        if [fmt.REPACKED_STREAMS.get(name, name) for name in names] != ["body", *fasta_layout.SIDE_STREAMS]:
            raise CodecError(f"block {index}: unexpected streams {names}")
        if not 1 <= b.lanes <= min(header.lanes, max(b.bases, 1)) or table[0][1] != b.bases:
            raise CodecError(f"block {index}: lane count or base count out of range")
        body_bound = 12 * b.lanes + 2 * b.bases + 8
        if table[0][2] > body_bound:
            raise CodecError(f"block {index}: body stream larger than possible")
    elif b.mode == fmt.MODE_STORED:
        if names != ["stored"] or table[0][1] != b.raw_size or b.bases or b.lanes:
            raise CodecError(f"block {index}: malformed stored block")
    else:
        raise CodecError(f"block {index}: unknown block mode {b.mode}")
    for name, raw_len, stored_len in table[1 if b.mode == fmt.MODE_CODED else 0 :]:
        if raw_len > _stream_bound(b.raw_size) or stored_len > raw_len + (raw_len >> 7) + 1024 \
                or (raw_len == 0) != (stored_len == 0):
            raise CodecError(f"block {index}: {name} stream sizes out of range")
    payload = sum(t[2] for t in table)
    size = head_size + fmt.CRC_SIZE + payload + fmt.CRC_SIZE
    if len(buf) < size:
        return None
    start = head_size + fmt.CRC_SIZE
    fmt.check_crc(bytes(buf[start : start + payload]), bytes(buf[start + payload : size]), f"block {index} payload")
    streams = {}
    for name, raw_len, stored_len in table:
        streams[name] = (raw_len, bytes(buf[start : start + stored_len]))
        start += stored_len
    return Block(b, streams, size, size - payload)


def parse_footer(buf: memoryview, n_blocks: int) -> Footer | None:
    """Parse the footer and trailer at the start of ``buf``; None if more bytes are needed."""
    if len(buf) < fmt.FOOTER_FIXED_SIZE:
        return None
    f = fmt.parse_footer_fixed(bytes(buf[: fmt.FOOTER_FIXED_SIZE]))
    if f.n_blocks != n_blocks:
        raise CodecError(f"footer: index lists {f.n_blocks} blocks, archive has {n_blocks}")
    body = fmt.FOOTER_FIXED_SIZE + n_blocks * fmt.INDEX_ENTRY_SIZE + fmt.FOOTER_TAIL_SIZE
    size = body + fmt.CRC_SIZE + fmt.TRAILER_SIZE
    if len(buf) < size:
        return None
    fmt.check_crc(bytes(buf[:body]), bytes(buf[body : body + fmt.CRC_SIZE]), "footer")
    entries = fmt.parse_index(bytes(buf[fmt.FOOTER_FIXED_SIZE : body - fmt.FOOTER_TAIL_SIZE]), n_blocks)
    tail = fmt.parse_footer_tail(bytes(buf[body - fmt.FOOTER_TAIL_SIZE : body]))
    trailer = fmt.parse_trailer(bytes(buf[body + fmt.CRC_SIZE : size]))
    if trailer.footer_size != body + fmt.CRC_SIZE:
        raise CodecError("trailer: footer size mismatch (corrupt archive)")
    return Footer(entries, tail.raw_total, tail.content_sha256, size)


def _is_footer(buf: memoryview) -> bool | None:
    """True for a footer, False for a block, None if unknown yet (raises on anything else)."""
    if len(buf) < 4:
        return None
    tag = bytes(buf[:4])
    if tag == fmt.BLOCK_MAGIC:
        return False
    if tag == fmt.FOOTER_MAGIC:
        return True
    raise CodecError("corrupt archive: expected a block or the footer")


def _unpack_stream(name: str, raw_len: int, stored: bytes) -> bytes:
    """Unpack a zstd-packed stream: exactly one frame that declares its content size, which must be
    ``raw_len`` (already bounded), so a forged frame header cannot drive an allocation."""
    if raw_len == 0:
        return b""
    try:
        declared = zstandard.frame_content_size(stored)
        if declared != raw_len:
            raise CodecError(f"{name} stream: zstd frame declares {declared} bytes, expected {raw_len}")
        unpacker = zstandard.ZstdDecompressor().decompressobj()
        data = unpacker.decompress(stored)
    except zstandard.ZstdError as exc:
        raise CodecError(f"{name} stream: zstd data is corrupt ({exc})") from None
    if not unpacker.eof or unpacker.unused_data:
        raise CodecError(f"{name} stream: not exactly one complete zstd frame")
    if len(data) != raw_len:
        raise CodecError(f"{name} stream: decompressed to {len(data)} bytes, expected {raw_len}")
    return data


def _unpack_side_streams(block: Block) -> dict[str, bytes]:
    """The raw layout streams of a coded block, by layout name (`case_runs` gives `case`)."""
    out = {}
    for name, (raw_len, stored) in block.streams.items():
        if name == "case_runs":
            from codec import case_runs

            raw = case_runs.unpack(stored, raw_len) if raw_len else b""
        elif name != "body":
            raw = _unpack_stream(name, raw_len, stored)
        else:
            continue
        out[fmt.REPACKED_STREAMS.get(name, name)] = raw
    return out


# -- decompression ----------------------------------------------------------------------------
class Decompressor:
    """Incremental decompressor for one archive member, with the protocol of
    ``lzma.LZMADecompressor`` (``decompress(data, max_length)``, ``eof``, ``needs_input``,
    ``unused_data``). ``memlimit`` (bytes), like ``lzma``'s: an archive whose model needs more
    (:func:`memory_needed`) raises :class:`CodecError` at its header, before any table is allocated."""

    def __init__(self, model: models.Model | None = None, *, device: str = "cpu",
                 backend: str | None = None, memlimit: int | None = None) -> None:
        allocator.tune()
        self._extra_model = model
        self._memlimit = memlimit
        self._backend = _backend_for(device, backend)
        self._in = bytearray()
        self._out = bytearray()
        self._header: ArchiveHeader | None = None
        self._predictor = None
        self._blocks: list[dict] = []
        self._raw_total = 0
        self._consumed = 0  # archive bytes parsed so far
        self._sha = hashlib.sha256()
        self._stalled = False
        self.eof = False
        self.needs_input = True
        self.unused_data = b""

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        if self.eof:
            raise EOFError("already at end of stream")
        self._in += data
        while not self.eof and (max_length < 0 or len(self._out) < max_length):
            if not self._advance():
                break
        if max_length < 0 or len(self._out) <= max_length:
            out = bytes(self._out)
            self._out.clear()
        else:
            out = bytes(self._out[:max_length])
            del self._out[:max_length]
        self.needs_input = not self.eof and not self._out and self._stalled
        return out

    def _advance(self) -> bool:
        """Parse and decode the next unit of the archive; False if more input is needed."""
        buf = memoryview(self._in)
        try:
            if self._header is None:
                unit = parse_header(buf, self._extra_model)
                if unit is not None:
                    _check_memlimit(unit.model, unit.block_size, unit.lanes, self._memlimit, "decoding this archive")
                    self._header = unit
            elif (is_footer := _is_footer(buf)) is None:
                unit = None
            elif is_footer:
                unit = parse_footer(buf, len(self._blocks))
                if unit is not None:
                    self._finish(unit)
            else:
                unit = parse_block(buf, self._header, len(self._blocks), self._raw_total)
                if unit is not None:
                    self._decode(unit)
        finally:
            buf.release()
        self._stalled = unit is None
        if unit is not None:
            del self._in[: unit.size]
            self._consumed += unit.size
        if self.eof:
            self.unused_data = bytes(self._in)
            self._in.clear()
        return unit is not None

    def _decode(self, block: Block) -> None:
        b = block.fixed
        index = len(self._blocks)
        archive_offset = self._consumed
        if b.mode == fmt.MODE_STORED:
            raw = _unpack_stream("stored", *block.streams["stored"])
        else:
            streams = _unpack_side_streams(block)
            bases = self._decode_bases(block.streams["body"][1], b.bases, b.lanes, streams, b.raw_size)
            raw = fasta_layout.join(bases, streams, max_output=b.raw_size)
        if len(raw) != b.raw_size or zlib.crc32(raw) != b.raw_crc:
            raise CodecError(f"block {index}: decoded bytes do not match their checksum")
        self._blocks.append(dict(archive_offset=archive_offset, raw_offset=b.raw_offset, raw_size=b.raw_size, bases=b.bases,
                                 records=b.records))
        self._raw_total += b.raw_size
        self._sha.update(raw)
        self._out += raw

    def _decode_bases(self, body: bytes, n: int, lanes: int, streams: dict[str, bytes], raw_size: int) -> np.ndarray:
        if self._predictor is None:
            self._predictor = self._header.model.predictor(self._header.lanes, *self._backend)
        lens = lane_lengths(n, lanes)
        counts = active_counts(lens)
        decoder = LaneDecoder(body, lens)
        self._predictor.start_block(lens, _case_grid(self._predictor, streams, n, raw_size, lens))
        steps = np.zeros((len(counts), lanes), dtype=np.uint8)
        pred = self._predictor
        fused = getattr(pred, "decode_steps", None)
        with small_matrix_threads():
            if fused is None or not fused(decoder, counts, steps):
                for t, k in enumerate(counts.tolist()):
                    sym = decoder.decode(pred.predict(k))
                    steps[t, :k] = sym
                    pred.update(sym)
        decoder.finish()
        return from_lanes(steps, lens)

    def _finish(self, footer: Footer) -> None:
        for i, (entry, seen) in enumerate(zip(footer.entries, self._blocks)):
            if any(entry[k] != v for k, v in seen.items()):
                raise CodecError(f"footer: index entry {i} does not match block {i}")
        if footer.raw_total != self._raw_total or footer.sha256 != self._sha.digest():
            raise CodecError("footer: content checksum mismatch (corrupt archive)")
        self.eof = True


# -- listing ----------------------------------------------------------------------------------
def inspect(fileobj: BinaryIO, model: models.Model | None = None) -> dict:
    """Walk every member of an archive, checking its structure and checksums (bodies are not
    decoded; ``dnacodec -t`` does that), and describe it: sizes, bases, records, the most lanes a
    block uses, model, the memory decoding needs (:func:`memory_needed`, the most of any member),
    and the bytes of each stream (the stream sizes sum to ``archive_bytes``)."""
    data = fileobj.read()
    if not data:
        raise CodecError("empty input is not a dnacodec archive")
    view = memoryview(data)
    info: dict = {"original_bytes": 0, "archive_bytes": len(data), "bases": 0, "records": 0,
                  "blocks": 0, "members": 0, "lanes": 0, "level": 0, "model": None, "memory_bytes": 0,
                  "streams": {"header": 0, "block_headers": 0, "index": 0}}
    streams = info["streams"]
    pos = 0
    while pos < len(data):
        header = parse_header(view[pos:], model)
        if header is None:
            raise CodecError("truncated archive (incomplete header)")
        info["members"] += 1
        info["level"] = header.level
        info["model"] = {"name": header.model.name, "fingerprint": header.model.fingerprint.hex()}
        info["memory_bytes"] = max(info["memory_bytes"], memory_needed(header.model, header.block_size, header.lanes))
        streams["header"] += header.size
        pos += header.size
        n_blocks, raw = 0, 0
        while True:
            kind = _is_footer(view[pos:])
            if kind is None:
                raise CodecError("truncated archive (no footer)")
            if kind:
                footer = parse_footer(view[pos:], n_blocks)
                if footer is None:
                    raise CodecError("truncated archive (incomplete footer)")
                if footer.raw_total != raw:
                    raise CodecError("footer: content size mismatch (corrupt archive)")
                streams["index"] += footer.size
                pos += footer.size
                break
            block = parse_block(view[pos:], header, n_blocks, raw)
            if block is None:
                raise CodecError(f"truncated archive (block {n_blocks} incomplete)")
            b = block.fixed
            streams["block_headers"] += block.overhead
            for name, (_, stored) in block.streams.items():
                streams[name] = streams.get(name, 0) + len(stored)
            info["bases"] += b.bases
            info["records"] += b.records
            info["lanes"] = max(info["lanes"], b.lanes)
            raw += b.raw_size
            n_blocks += 1
            pos += block.size
        info["original_bytes"] += raw
        info["blocks"] += n_blocks
    streams.setdefault("body", 0)
    return info
