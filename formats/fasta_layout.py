"""FASTA layout: split any byte string into 2-bit bases plus four side streams, and join them back.

`split(data)` never fails: every byte string round-trips, valid FASTA or not. `join` is the decoder
and trusts nothing: every count, length and position is checked (sizes against `max_output` before
anything proportional to them is allocated) and every inconsistency raises `CodecError`. Both
directions are vectorised with numpy; the byte-level format is specified in `spec/LAYOUT.md`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from formats.errors import CodecError

__all__ = ["SIDE_STREAMS", "Layout", "split", "join", "base_case", "parse_case"]

SIDE_STREAMS: tuple[str, ...] = ("lines", "headers", "exceptions", "case")

# A `lines` tag byte: bits 0-1 the terminator, bit 2 set for a run of header lines.
TERM_LF, TERM_CRLF, TERM_NONE = 0, 1, 2
HEADER_BIT = 4
_TERM_SIZE = np.array([1, 2, 0, 0], dtype=np.uint8)

_MAX_VARINT_BYTES = 9          # 63 bits: every decoded value fits an int64
_LIMIT_CAP = 1 << 62           # max_output is clamped to this (keeps int64 arithmetic exact)
_BLOCK = 1 << 20               # items per slice in the slice-wise helpers (bounds temporaries)

_LF, _CR, _GT, _SEMI = 0x0A, 0x0D, ord(">"), ord(";")


@dataclass(frozen=True)
class Layout:
    """Result of `split`: bases (uint8 0..3), the raw side streams, and the number of '>' headers."""

    bases: np.ndarray
    streams: dict[str, bytes]
    records: int


# ------------------------------------------------------------------------------------ helpers

def _index_dtype(n: int) -> type[np.signedinteger]:
    """Narrowest index dtype for positions and sizes up to `n`."""
    return np.int32 if n < (1 << 31) - 2 else np.int64


def _nonzero(mask: np.ndarray, dtype: type[np.signedinteger]) -> np.ndarray:
    """np.flatnonzero(mask) as `dtype`, computed slice by slice (no full-size int64 temporary)."""
    parts = [np.flatnonzero(mask[i:i + 8 * _BLOCK]).astype(dtype) + dtype(i)
             for i in range(0, mask.size, 8 * _BLOCK)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _alternating(n_pairs: int) -> np.ndarray:
    """[False, True] * n_pairs + [False]."""
    vals = np.zeros(2 * n_pairs + 1, dtype=bool)
    vals[1::2] = True
    return vals


def _interleave(a: np.ndarray, b: np.ndarray, tail: int) -> np.ndarray:
    """[a0, b0, a1, b1, ..., tail]."""
    out = np.empty(2 * a.size + 1, dtype=np.result_type(a, b))
    out[0:-1:2] = a
    out[1::2] = b
    out[-1] = tail
    return out


def _total(a: np.ndarray, b: np.ndarray | None = None) -> int:
    """Exact sum of a (or of a*b) for non-negative arrays, free of int64 overflow."""
    if a.size == 0:
        return 0
    peak = int(a.max()) * (1 if b is None else int(b.max()))
    if peak * a.size >= _LIMIT_CAP:              # may overflow int64: estimate in float first
        est = float(np.dot(a.astype(np.float64), b.astype(np.float64)) if b is not None
                    else np.sum(a, dtype=np.float64))
        if est > _LIMIT_CAP:
            return int(est)                      # larger than any limit: the caller rejects it
    if b is None:
        return int(np.sum(a, dtype=np.int64))
    return int(np.dot(a.astype(np.int64), b.astype(np.int64)))


def _is_lower(a: np.ndarray) -> np.ndarray:
    return np.subtract(a, 0x61, dtype=np.uint8) < 26


def _code_table(letter3: int) -> np.ndarray:
    """byte -> base code (A/a 0, C/c 1, G/g 2, letter3 either case 3), 255 for anything else."""
    table = np.full(256, 255, dtype=np.uint8)
    for code, letter in enumerate((ord("A"), ord("C"), ord("G"), letter3)):
        table[letter] = table[letter | 0x20] = code
    return table


_CODES = {ord("T"): _code_table(ord("T")), ord("U"): _code_table(ord("U"))}


# --------------------------------------------------------------------------------------- varints

def _uvarint(value: int) -> bytes:
    """LEB128 encoding of one non-negative integer."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _uvarints(values: np.ndarray) -> bytes:
    """LEB128 encodings of non-negative integers (< 2**63), concatenated."""
    pieces = []
    for i in range(0, values.size, _BLOCK):
        v = values[i:i + _BLOCK].astype(np.uint64)
        nbytes = np.ones(v.size, dtype=np.int64)
        for k in range(1, _MAX_VARINT_BYTES):
            nbytes += v >= np.uint64(1 << (7 * k))
        ends = np.cumsum(nbytes)
        starts = ends - nbytes
        out = np.empty(int(ends[-1]), dtype=np.uint8)
        for k in range(int(nbytes.max())):
            sel = np.flatnonzero(nbytes > k) if k else slice(None)
            byte = ((v[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
            out[starts[sel] + k] = byte | ((nbytes[sel] > k + 1).astype(np.uint8) << 7)
        pieces.append(out.tobytes())
    return b"".join(pieces)


def _read_uvarint(buf: bytes, pos: int, what: str) -> tuple[int, int]:
    """Decode one LEB128 integer at `pos`; return (value, position after it)."""
    value = 0
    for k in range(_MAX_VARINT_BYTES):
        if pos + k >= len(buf):
            raise CodecError(f"layout: truncated varint ({what})")
        byte = buf[pos + k]
        value |= (byte & 0x7F) << (7 * k)
        if byte < 0x80:
            if k and byte == 0:
                raise CodecError(f"layout: non-canonical varint ({what})")
            return value, pos + k + 1
    raise CodecError(f"layout: varint longer than {_MAX_VARINT_BYTES} bytes ({what})")


def _decode_uvarints(buf: np.ndarray, what: str, bound: int) -> np.ndarray:
    """Decode a byte array made only of canonical LEB128 integers, each <= bound."""
    dtype = _index_dtype(bound)
    parts = []
    pos = 0
    while pos < buf.size:
        block = buf[pos:pos + 8 * _BLOCK]
        if pos + block.size == buf.size and not np.any(block >= 0x80):
            parts.append(block.astype(dtype))    # fast path: only one-byte varints left
            break
        last = np.flatnonzero(block < 0x80)
        if last.size == 0 or (pos + block.size == buf.size and last[-1] != block.size - 1):
            raise CodecError(f"layout: truncated varint at end of {what}")
        first = np.empty_like(last)
        first[0] = 0
        first[1:] = last[:-1] + 1
        nbytes = last - first + 1
        longest = int(nbytes.max())
        if longest > _MAX_VARINT_BYTES:
            raise CodecError(f"layout: varint longer than {_MAX_VARINT_BYTES} bytes in {what}")
        if longest > 1 and np.any((nbytes > 1) & (block[last] == 0)):
            raise CodecError(f"layout: non-canonical varint in {what}")
        values = (block[first] & 0x7F).astype(np.int64)
        for k in range(1, longest):
            sel = np.flatnonzero(nbytes > k)
            values[sel] |= (block[first[sel] + k] & 0x7F).astype(np.int64) << (7 * k)
        if int(values.max()) > bound:
            raise CodecError(f"layout: value in {what} larger than max_output allows")
        parts.append(values.astype(dtype))
        pos += int(last[-1]) + 1
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


# -------------------------------------------------------------------------------------- split

def split(data: bytes) -> Layout:
    """Split any byte string into bases (uint8 0..3) and the raw side streams `SIDE_STREAMS`."""
    arr = np.frombuffer(data, dtype=np.uint8)
    size = arr.size
    if size == 0:
        streams = {"lines": _uvarint(0), "headers": b"", "exceptions": b"T" + _uvarint(0), "case": b""}
        return Layout(np.zeros(0, dtype=np.uint8), streams, 0)
    it = _index_dtype(size)

    # ---- lines: line i spans [bounds[i] + 1, bounds[i + 1]), its terminator starts at the end
    newlines = _nonzero(arr == _LF, it)
    unterminated = bool(arr[-1] != _LF)
    n_lines = newlines.size + unterminated
    bounds = np.empty(n_lines + 1, dtype=it)
    bounds[0] = -1
    bounds[1:newlines.size + 1] = newlines
    del newlines
    if unterminated:
        bounds[-1] = size
    starts, ends = bounds[:-1] + 1, bounds[1:]
    has_cr = arr[ends - 1] == _CR                # for an empty line: the previous LF (or arr[-1])
    if ends[0] == 0:
        has_cr[0] = False
    if unterminated:
        has_cr[-1] = False
    width = ends - starts
    width -= has_cr
    first = arr[np.minimum(starts, size - 1)]
    is_hdr = (first == _GT) | (first == _SEMI)
    is_hdr &= width > 0
    records = int(np.count_nonzero(first[is_hdr] == _GT))
    del first
    tag = has_cr.view(np.uint8) | (is_hdr.view(np.uint8) << 2)
    del has_cr
    if unterminated:
        tag[-1] |= TERM_NONE
    width_key = width.copy()
    width_key[is_hdr] = 0
    change = np.ones(n_lines, dtype=bool)
    np.not_equal(tag[1:], tag[:-1], out=change[1:])
    change[1:] |= width_key[1:] != width_key[:-1]
    run_start = _nonzero(change, it)
    del change
    run_tag = tag[run_start]
    run_width = width_key[run_start][run_tag < HEADER_BIT]
    del tag, width_key
    lines = (_uvarint(run_start.size) + run_tag.tobytes()
             + _uvarints(np.diff(run_start, append=it(n_lines))) + _uvarints(run_width))
    del run_start, run_tag, run_width

    # ---- headers: contents joined with LF (gather content + the byte after it, then force LF)
    h_start, h_len = starts[is_hdr], width[is_hdr]
    if h_start.size:
        h_end = np.cumsum(h_len + 1, dtype=it)
        idx = np.repeat(h_start - (h_end - h_len - 1), h_len + 1)
        idx += np.arange(int(h_end[-1]), dtype=it)
        np.minimum(idx, size - 1, out=idx)
        gathered = arr[idx]
        del idx
        gathered[h_end - 1] = _LF
        headers = gathered[:-1].tobytes()
        del gathered
    else:
        headers = b""
    del h_start, h_len

    # ---- residues: contents of the sequence lines, in order
    is_seq = ~is_hdr
    s_start, s_len = starts[is_seq], width[is_seq]
    del is_seq, is_hdr, starts, ends, bounds, width
    if s_start.size:
        s_end = s_start + s_len
        gaps = s_start
        gaps[1:] -= s_end[:-1]
        mask = np.repeat(_alternating(gaps.size), _interleave(gaps, s_len, size - int(s_end[-1])))
        del s_start, s_len, s_end, gaps
        residues = arr[mask]
        del mask
    else:
        residues = np.zeros(0, dtype=np.uint8)
    n_res = residues.size
    it = _index_dtype(n_res)

    # ---- case: alternating upper/lower run lengths, ending with a lower run
    lower = np.zeros(n_res + 2, dtype=bool)
    lower[1:-1] = _is_lower(residues)
    if lower.any():
        switches = _nonzero(lower[1:] != lower[:-1], it)
        case = _uvarints(np.diff(switches, prepend=it(0)))
        del switches
    else:
        case = b""
    lower = lower[1:-1]

    # ---- bases and exceptions (runs of one upper-cased byte value)
    folded = residues | 0x20
    letter3 = ord("U") if np.count_nonzero(folded == ord("u")) > np.count_nonzero(folded == ord("t")) else ord("T")
    del folded
    codes = _CODES[letter3][residues]
    exc = codes == 255
    if exc.any():
        bases = codes[~exc]
        del codes
        upper = residues - (lower.view(np.uint8) << 5)
        cont = exc[1:] & exc[:-1]
        cont &= upper[1:] == upper[:-1]
        run_first = exc.copy()
        run_first[1:] &= ~cont
        e_start = _nonzero(run_first, it)
        del run_first
        run_last = exc
        run_last[:-1] &= ~cont
        del cont
        e_end = _nonzero(run_last, it) + it(1)
        del run_last, exc
        e_val = upper[e_start]
        del upper
        e_len = e_end - e_start
        e_gap = e_start
        e_gap[1:] -= e_end[:-1]
        del e_end
        exceptions = bytes([letter3]) + _uvarint(e_gap.size) + e_val.tobytes() + _uvarints(e_gap) + _uvarints(e_len)
    else:
        bases = codes
        exceptions = bytes([letter3]) + _uvarint(0)

    streams = {"lines": lines, "headers": headers, "exceptions": exceptions, "case": case}
    return Layout(bases, streams, records)


# --------------------------------------------------------------------------------------- join

def _stream(streams: Mapping[str, bytes], name: str) -> bytes:
    try:
        raw = streams[name]
    except (KeyError, TypeError, IndexError):
        raise CodecError(f"layout: missing side stream {name!r}") from None
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise CodecError(f"layout: side stream {name!r} is not bytes")
    return bytes(raw)


def _check_bases(bases: np.ndarray) -> np.ndarray:
    if not isinstance(bases, np.ndarray):
        raise CodecError("layout: bases is not a numpy array")
    if bases.ndim != 1 or (bases.size and bases.dtype.kind not in "iu"):
        raise CodecError("layout: bases must be a 1-D integer array")
    if bases.size and (int(bases.min()) < 0 or int(bases.max()) > 3):
        raise CodecError("layout: base value outside 0..3")
    return bases.astype(np.uint8, copy=False)


def _parse_exceptions(exc_raw: bytes, bound: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The `exceptions` stream: (letter3, run bytes, gaps, lengths), every value <= bound."""
    if len(exc_raw) < 1 or exc_raw[0] not in b"TU":
        raise CodecError("layout: exceptions stream must start with 'T' or 'U'")
    letter3 = exc_raw[0]
    n_exc, pos = _read_uvarint(exc_raw, 1, "exception run count")
    if n_exc > len(exc_raw) - pos:
        raise CodecError("layout: exception run count exceeds the stream")
    ebuf = np.frombuffer(exc_raw, dtype=np.uint8)
    e_val = ebuf[pos:pos + n_exc]
    if n_exc and np.any((_CODES[letter3][e_val] != 255) | _is_lower(e_val) | (e_val == _LF)):
        raise CodecError("layout: exception byte is a base letter, lowercase or LF")
    evals = _decode_uvarints(ebuf[pos + n_exc:], "exceptions", bound)
    if evals.size != 2 * n_exc:
        raise CodecError(f"layout: exceptions stream holds {evals.size} varints, expected {2 * n_exc}")
    e_gap, e_len = evals[:n_exc], evals[n_exc:]
    if n_exc and int(e_len.min()) < 1:
        raise CodecError("layout: empty exception run")
    return letter3, e_val, e_gap, e_len


def parse_case(case_raw: bytes, bound: int) -> np.ndarray:
    """The `case` stream: its run lengths (upper, lower, upper, ...), every value <= bound."""
    c_runs = _decode_uvarints(np.frombuffer(case_raw, dtype=np.uint8), "case", bound)
    if c_runs.size % 2:
        raise CodecError("layout: case stream holds an odd number of runs")
    if c_runs.size > 1 and int(c_runs[1:].min()) < 1:
        raise CodecError("layout: empty case run")
    return c_runs


def base_case(streams: Mapping[str, bytes], n_bases: int, max_output: int) -> np.ndarray:
    """Per base, whether its residue is lowercase (bool, ``n_bases`` items): the soft-masking as
    a context for the base predictor. Reads only the `exceptions` and `case` streams, so the decoder
    has it before the bases; sizes are checked against ``max_output`` (the chunk size) first.
    Consistency with the other streams is left to :func:`join`."""
    limit = min(int(max_output), _LIMIT_CAP)
    _, _, e_gap, e_len = _parse_exceptions(_stream(streams, "exceptions"), limit + 1)
    c_runs = parse_case(_stream(streams, "case"), limit + 1)
    n_cased, n_excepted = _total(c_runs), _total(e_gap) + _total(e_len)
    if max(n_cased, n_excepted) > limit:
        raise CodecError("layout: case or exception runs longer than the chunk")
    out = np.zeros(n_bases, dtype=bool)
    if c_runs.size == 0:
        return out
    lower = np.repeat(_alternating(c_runs.size // 2)[:-1], c_runs)
    if e_gap.size:
        span = max(n_cased, n_excepted)
        lower = np.concatenate([lower, np.zeros(span - n_cased, dtype=bool)])
        is_base = ~np.repeat(_alternating(e_gap.size), _interleave(e_gap, e_len, span - n_excepted))
        lower = lower[is_base]
    m = min(lower.size, n_bases)
    out[:m] = lower[:m]
    return out


def join(bases: np.ndarray, streams: Mapping[str, bytes], max_output: int) -> bytes:
    """Rebuild the original bytes from `bases` and the side streams; CodecError if inconsistent.

    Every declared size is checked against `max_output` before anything proportional to it is
    allocated, so memory stays within a small multiple of max_output and of the stream sizes.
    """
    if not isinstance(max_output, (int, np.integer)) or max_output < 0:
        raise CodecError("layout: max_output must be a non-negative integer")
    limit = min(int(max_output), _LIMIT_CAP)
    if not isinstance(streams, Mapping):
        raise CodecError("layout: side streams must be a mapping")
    extra = set(streams) - set(SIDE_STREAMS)
    if extra:
        raise CodecError(f"layout: unknown side streams {sorted(map(repr, extra))}")
    lines_raw, headers_raw, exc_raw, case_raw = (_stream(streams, name) for name in SIDE_STREAMS)
    bases = _check_bases(bases)
    bound = limit + 1

    # ---- lines
    n_runs, pos = _read_uvarint(lines_raw, 0, "lines run count")
    if n_runs > len(lines_raw) - pos:
        raise CodecError("layout: lines run count exceeds the stream")
    lbuf = np.frombuffer(lines_raw, dtype=np.uint8)
    tags = lbuf[pos:pos + n_runs]
    if np.any(tags > (HEADER_BIT | 3)) or np.any((tags & 3) == 3):
        raise CodecError("layout: invalid line tag")
    term = tags & 3
    run_hdr = tags >= HEADER_BIT
    values = _decode_uvarints(lbuf[pos + n_runs:], "lines", bound)
    n_seq_runs = n_runs - int(np.count_nonzero(run_hdr))
    if values.size != n_runs + n_seq_runs:
        raise CodecError(f"layout: lines stream holds {values.size} varints, expected {n_runs + n_seq_runs}")
    counts = values[:n_runs]
    run_width = np.zeros(n_runs, dtype=values.dtype)
    run_width[~run_hdr] = values[n_runs:]
    del values
    if n_runs and int(counts.min()) < 1:
        raise CodecError("layout: empty line run")
    unterm = np.flatnonzero(term == TERM_NONE)
    if unterm.size > 1 or (unterm.size == 1 and (unterm[0] != n_runs - 1 or counts[-1] != 1)):
        raise CodecError("layout: unterminated line before the end")
    if unterm.size and not run_hdr[-1] and run_width[-1] == 0:
        raise CodecError("layout: empty unterminated last line")

    # ---- sizes, checked before anything proportional to them is allocated
    n_hdr = _total(counts[run_hdr])
    if n_hdr > len(headers_raw) + 1:
        raise CodecError("layout: more header lines than the headers stream holds")
    n_res = _total(counts, run_width)
    total = n_res + _total(counts, _TERM_SIZE[term]) + len(headers_raw) - max(n_hdr - 1, 0)
    if total > limit:
        raise CodecError(f"layout: output of {total} bytes is larger than max_output {limit}")
    it = _index_dtype(total)

    # ---- headers
    hbuf = np.frombuffer(headers_raw, dtype=np.uint8)
    if n_hdr == 0:
        if hbuf.size:
            raise CodecError("layout: headers stream not empty but there are no header lines")
        h_len = np.zeros(0, dtype=it)
    else:
        seps = _nonzero(hbuf == _LF, it)
        if seps.size != n_hdr - 1:
            raise CodecError(f"layout: headers stream holds {seps.size + 1} headers, lines need {n_hdr}")
        h_first = np.concatenate([np.zeros(1, dtype=it), seps + it(1)])
        h_len = np.append(seps, it(hbuf.size)) - h_first
        del seps
        if int(h_len.min()) < 1:
            raise CodecError("layout: empty header")
        lead = hbuf[h_first]
        if not np.all((lead == _GT) | (lead == _SEMI)):
            raise CodecError("layout: header does not start with '>' or ';'")
        del h_first, lead

    # ---- exceptions
    letter3, e_val, e_gap, e_len = _parse_exceptions(exc_raw, bound)
    n_exc = e_val.size
    n_gap, n_exc_bytes = _total(e_gap), _total(e_len)
    if n_gap + n_exc_bytes > n_res:
        raise CodecError("layout: exception run past end of residues")
    if bases.size != n_res - n_exc_bytes:
        raise CodecError(f"layout: got {bases.size} bases, the layout needs {n_res - n_exc_bytes}")

    # ---- case
    c_runs = parse_case(case_raw, bound)
    n_cased = _total(c_runs)
    if n_cased > n_res:
        raise CodecError("layout: case run past end of residues")

    # ---- residues
    table = np.frombuffer(b"ACG" + bytes([letter3]), dtype=np.uint8)
    if n_exc:
        exc_mask = np.repeat(_alternating(n_exc), _interleave(e_gap, e_len, n_res - n_gap - n_exc_bytes))
        residues = np.empty(n_res, dtype=np.uint8)
        residues[exc_mask] = np.repeat(e_val, e_len)
        np.logical_not(exc_mask, out=exc_mask)
        residues[exc_mask] = table[bases]
        del exc_mask
    else:
        residues = table[bases]
    del e_gap, e_len
    if c_runs.size:
        low = np.repeat(_alternating(c_runs.size // 2)[:-1], c_runs)
        cased = residues[:n_cased]
        if np.any(np.subtract(cased[low], 0x41, dtype=np.uint8) >= 26):
            raise CodecError("layout: lowercase run covers a byte that is not a letter")
        cased |= low.view(np.uint8) << 5
        del low, cased
    del c_runs

    # ---- assemble: line contents (header or residue bytes) with the terminators between them
    line_hdr = np.repeat(run_hdr, counts)
    line_width = np.repeat(run_width.astype(it), counts)
    line_width[line_hdr] = h_len
    del h_len
    line_term = np.repeat(term, counts)
    del counts, run_width
    term_size = _TERM_SIZE[line_term]
    term_at = np.cumsum(line_width + term_size, dtype=it)
    term_at -= term_size
    del term_size
    out = np.full(total, _LF, dtype=np.uint8)
    content = np.ones(total, dtype=bool)
    crlf = term_at[line_term == TERM_CRLF]
    out[crlf] = _CR
    content[crlf] = False
    content[crlf + 1] = False
    del crlf
    content[term_at[line_term == TERM_LF]] = False
    del term_at, line_term
    if n_hdr:
        from_hdr = np.repeat(line_hdr, line_width)
        joined = np.empty(from_hdr.size, dtype=np.uint8)
        joined[from_hdr] = hbuf[hbuf != _LF]
        np.logical_not(from_hdr, out=from_hdr)
        joined[from_hdr] = residues
        del from_hdr, residues
    else:
        joined = residues
    del line_hdr, line_width
    out[content] = joined
    return out.tobytes()
