"""The `.dnac` container, format version 1, declared with construct (the only code that knows the
bytes on disk). ``spec/FORMAT.md`` is the normative description; this module must match it.

An archive (a "member"; members may be concatenated) is::

    Header  Block*  Footer  Trailer

Every structure carries a CRC-32 over its own bytes, each block also the CRC-32 of its payload and
of the original bytes it decodes to, and the footer the SHA-256 of the whole original content, so
any change to any byte is detected.
"""

from __future__ import annotations

import zlib

from construct import Array, Bytes, Const, ConstructError, Int8ul, Int16ul, Int32ul, Int64ul, Struct, this

from formats.errors import CodecError

MAGIC = b"\x89DNAC\r\n\x1a\n"
BLOCK_MAGIC = b"DBLK"
FOOTER_MAGIC = b"DIDX"
TRAILER_MAGIC = b"DEND"
VERSION_MAJOR = 1
VERSION_MINOR = 1  # 1.1 adds the `case_runs` stream; an encoder can still write 1.0 (FORMAT.md)
KNOWN_REQUIRED_FLAGS = 0  # no required flags are defined in v1

# Block modes
MODE_CODED = 0  # FASTA layout streams + entropy-coded ACGT body
MODE_STORED = 1  # the block's bytes, zstd-packed (used when the layout does not pay)

# Stream ids within a block (names are used by `dnacodec -l --json`)
STREAM_IDS = {"body": 0, "lines": 1, "headers": 2, "exceptions": 3, "case": 4, "stored": 5, "case_runs": 6}
STREAM_NAMES = {v: k for k, v in STREAM_IDS.items()}
# Format 1.1: a layout stream stored under another id and packing instead of zstd (the layout stream
# it carries -> the id's name); `case_runs` holds the case stream range-coded (codec/case_runs.py).
REPACKED_STREAMS = {"case_runs": "case"}


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


# A fixed-size part is parsed once its bytes are all at hand, so each structure is declared as a
# prefix of known size (parsed from a bytes buffer) and its checksum is computed over that prefix.
HeaderFixed = Struct(
    "magic" / Const(MAGIC),
    "version_major" / Int8ul,
    "version_minor" / Int8ul,
    "required_flags" / Int16ul,
    "optional_flags" / Int16ul,
    "level" / Int8ul,
    "lanes" / Int16ul,
    "block_size" / Int32ul,
    "model_fingerprint" / Bytes(32),
    "model_name_len" / Int8ul,
    "model_bytes_len" / Int32ul,
)
HEADER_FIXED_SIZE = HeaderFixed.sizeof()

HeaderTail = Struct(
    "model_name" / Bytes(this._.model_name_len),
    "model_bytes" / Bytes(this._.model_bytes_len),
)

StreamEntry = Struct(
    "id" / Int8ul,
    "raw_len" / Int32ul,
    "stored_len" / Int32ul,
)

BlockFixed = Struct(
    "magic" / Const(BLOCK_MAGIC),
    "index" / Int32ul,
    "raw_offset" / Int64ul,
    "raw_size" / Int32ul,
    "raw_crc" / Int32ul,
    "mode" / Int8ul,
    "bases" / Int32ul,
    "lanes" / Int16ul,
    "records" / Int32ul,
    "n_streams" / Int8ul,
)
BLOCK_FIXED_SIZE = BlockFixed.sizeof()
STREAM_ENTRY_SIZE = StreamEntry.sizeof()

FooterFixed = Struct(
    "magic" / Const(FOOTER_MAGIC),
    "n_blocks" / Int32ul,
)
FOOTER_FIXED_SIZE = FooterFixed.sizeof()

IndexEntry = Struct(
    "archive_offset" / Int64ul,
    "raw_offset" / Int64ul,
    "raw_size" / Int32ul,
    "bases" / Int32ul,
    "records" / Int32ul,
)
INDEX_ENTRY_SIZE = IndexEntry.sizeof()

FooterTail = Struct(
    "raw_total" / Int64ul,
    "content_sha256" / Bytes(32),
)
FOOTER_TAIL_SIZE = FooterTail.sizeof()

Trailer = Struct(
    "footer_size" / Int32ul,
    "magic" / Const(TRAILER_MAGIC),
)
TRAILER_SIZE = Trailer.sizeof()
CRC_SIZE = 4


def _parse(con, data: bytes, what: str, **ctx):
    try:
        return con.parse(data, **ctx)
    except ConstructError as exc:
        raise CodecError(f"{what}: malformed ({exc.__class__.__name__})") from None


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its CRC-32 (little-endian)."""
    return body + Int32ul.build(_crc(body))


def check_crc(body: bytes, crc_bytes: bytes, what: str) -> None:
    """Raise CodecError unless ``crc_bytes`` is the CRC-32 of ``body``."""
    if len(crc_bytes) != CRC_SIZE or Int32ul.parse(crc_bytes) != _crc(body):
        raise CodecError(f"{what}: checksum mismatch (corrupt archive)")


# -- builders --------------------------------------------------------------------------------------
def build_header(*, level: int, lanes: int, block_size: int, model_name: str,
                 model_fingerprint: bytes, model_bytes: bytes = b"", version_minor: int = VERSION_MINOR) -> bytes:
    name = model_name.encode("utf-8")
    fixed = HeaderFixed.build(dict(
        version_major=VERSION_MAJOR, version_minor=version_minor, required_flags=0,
        optional_flags=0, level=level, lanes=lanes, block_size=block_size,
        model_fingerprint=model_fingerprint, model_name_len=len(name),
        model_bytes_len=len(model_bytes)))
    return with_crc(fixed + name + model_bytes)


def build_block(*, index: int, raw_offset: int, raw_size: int, raw_crc: int, mode: int, bases: int,
                lanes: int, records: int, streams: list[tuple[str, int, bytes]]) -> bytes:
    """``streams``: (name, raw_len, stored bytes) in stream order."""
    head = BlockFixed.build(dict(
        index=index, raw_offset=raw_offset, raw_size=raw_size, raw_crc=raw_crc, mode=mode,
        bases=bases, lanes=lanes, records=records, n_streams=len(streams)))
    head += b"".join(StreamEntry.build(dict(id=STREAM_IDS[n], raw_len=r, stored_len=len(s)))
                     for n, r, s in streams)
    return with_crc(head) + with_crc(b"".join(s for _, _, s in streams))


def build_footer(entries: list[dict], raw_total: int, content_sha256: bytes) -> bytes:
    body = FooterFixed.build(dict(n_blocks=len(entries)))
    body += b"".join(IndexEntry.build(e) for e in entries)
    body += FooterTail.build(dict(raw_total=raw_total, content_sha256=content_sha256))
    footer = with_crc(body)
    return footer + Trailer.build(dict(footer_size=len(footer)))


# -- parsers (each takes exactly the bytes of its part; the caller reads them) --------------------
def parse_header_fixed(data: bytes):
    if data[: len(MAGIC)] != MAGIC[: len(data)] or len(data) < len(MAGIC):
        raise CodecError("not a dnacodec archive (bad magic bytes)")
    h = _parse(HeaderFixed, data, "archive header")
    if h.version_major != VERSION_MAJOR:
        raise CodecError(
            f"unsupported format version {h.version_major}.{h.version_minor} "
            f"(this dnacodec reads version {VERSION_MAJOR}.x)")
    if h.required_flags & ~KNOWN_REQUIRED_FLAGS:
        raise CodecError(f"archive needs unknown required features (flags 0x{h.required_flags:04x})")
    return h


def parse_header_tail(fixed, data: bytes):
    t = _parse(HeaderTail, data, "archive header", model_name_len=fixed.model_name_len,
               model_bytes_len=fixed.model_bytes_len)
    try:
        name = t.model_name.decode("utf-8")
    except UnicodeDecodeError:
        raise CodecError("archive header: model name is not UTF-8") from None
    return name, t.model_bytes


def parse_block_fixed(data: bytes):
    return _parse(BlockFixed, data, "block header")


def parse_stream_table(data: bytes, n: int) -> list[tuple[str, int, int]]:
    entries = _parse(Array(n, StreamEntry), data, "block stream table")
    out = []
    for e in entries:
        if e.id not in STREAM_NAMES:
            raise CodecError(f"block stream table: unknown stream id {e.id}")
        out.append((STREAM_NAMES[e.id], e.raw_len, e.stored_len))
    return out


def parse_footer_fixed(data: bytes):
    return _parse(FooterFixed, data, "footer")


def parse_index(data: bytes, n: int) -> list:
    return list(_parse(Array(n, IndexEntry), data, "block index"))


def parse_footer_tail(data: bytes):
    return _parse(FooterTail, data, "footer")


def parse_trailer(data: bytes):
    return _parse(Trailer, data, "trailer")
