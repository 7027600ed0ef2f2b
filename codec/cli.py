"""The ``dnacodec`` command-line tool, following xz/zstd conventions.

``dnacodec FILE...`` compresses each FILE to FILE.dnac and removes FILE (unless ``-k``);
``-d`` decompresses FILE.dnac to FILE; ``-c`` writes to standard output; ``-t`` tests; ``-l`` lists.
With no FILE, or when FILE is ``-``, standard input is processed to standard output.

Exit status: 0 success, 1 error, 2 warning (e.g. a skipped file); 128 + the signal number when
interrupted by SIGINT (130), SIGHUP (129) or SIGTERM (143), or when the reader of standard output
goes away (141, SIGPIPE: quietly, like other Unix tools).
Output files are written through a temporary file in the same directory and only renamed to the
final name once complete, so a failure, a full disk or an interruption never leaves a partial
output behind.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import stat
import sys
import tempfile
import warnings
from typing import IO, Any, Callable, NoReturn, Sequence

# The tool runs BLAS (the neural predictor's small products) on one thread only
# (codec.predictors.small_matrix_threads), but OpenBLAS starts a thread per core as numpy loads, and
# each spins for a while before it sleeps: a tenth of a second of CPU per run that the compiled step's
# own threads could use. Set before codec.api loads numpy; a value the user set wins.
if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from codec import api, cli_signals, engine  # noqa: E402  (after the environment above)
from formats.errors import CodecError  # noqa: E402

PROG = "dnacodec"
SUFFIX = ".dnac"
CHUNK_SIZE = 1 << 20  # bytes read per step: files are processed in bounded pieces
STDIN_NAME = "(stdin)"
STDOUT_NAME = "(stdout)"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_WARNING = 2
EXIT_INTERRUPTED = 130
EXIT_SIGPIPE = 128 + 13


def _version() -> str:
    version = getattr(sys.modules.get("codec"), "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("dnacodec")
        except Exception:  # not installed (e.g. run from a source tree)
            version = "unknown"
    return str(version)


def _version_text() -> str:
    """``--version``: the version, then which step codes the bases (without loading it)."""
    from codec import extension

    step = "the C extension" if extension.built() else "the numpy reference, 50-100x slower: no C extension"
    return f"{PROG} {_version()} (step: {step})"


class _UsageError(Exception):
    """Bad command line (reported as one line, exit status 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        # argparse ignores a failed write; --help and --version report it like any other output
        if message:
            stream = file or sys.stderr
            stream.write(message)
            stream.flush()


class _Skip(Exception):
    """A file is skipped with a warning (exit status 2)."""


class _Fail(Exception):
    """A file failed (exit status 1); ``name`` is the file the message is about."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dnacodec`` command."""
    parser = _Parser(
        prog=PROG,
        description="Lossless compressor for DNA sequence (FASTA) files. "
        "'dnacodec train --help' trains a model.",
        epilog="With no FILE, or when FILE is -, read standard input and write standard output. "
        "Exit status: 0 success, 1 error, 2 warning, 128+N after signal N (130 Ctrl-C, 141 closed "
        "pipe, 143 SIGTERM).",
    )
    ops = parser.add_argument_group("operation (the last one given wins)")
    ops.add_argument("-z", "--compress", dest="op", action="store_const", const="compress",
                     help="compress (default)")
    ops.add_argument("-d", "--decompress", "--uncompress", dest="op", action="store_const",
                     const="decompress", help="decompress FILE.dnac to FILE")
    ops.add_argument("-t", "--test", dest="op", action="store_const", const="test",
                     help="test archive integrity (decompress and discard)")
    ops.add_argument("-l", "--list", dest="op", action="store_const", const="list",
                     help="list information about archives")
    mods = parser.add_argument_group("operation modifiers")
    mods.add_argument("-k", "--keep", action="store_true", help="keep (don't delete) input files")
    mods.add_argument("-f", "--force", action="store_true",
                      help="overwrite existing output files; write compressed data to a terminal; "
                      "follow symbolic links")
    mods.add_argument("-c", "--stdout", "--to-stdout", dest="stdout", action="store_true",
                      help="write to standard output and keep input files")
    mods.add_argument("-o", "--output", metavar="PATH",
                      help="write the output to PATH (one input file only)")
    mods.add_argument("--json", action="store_true",
                      help="with --list: print one JSON object per line per archive")
    comp = parser.add_argument_group(
        "compression",
        f"-1 ... -9: compression level, fastest to best (default -{engine.DEFAULT_LEVEL})",
    )
    for level in range(1, 10):
        comp.add_argument(f"-{level}", dest="level", action="store_const", const=level,
                          help=argparse.SUPPRESS)
    comp.add_argument("--fast", dest="level", action="store_const", const=1, help="alias of -1")
    comp.add_argument("--best", dest="level", action="store_const", const=9, help="alias of -9")
    comp.add_argument("--model", metavar="NAME|PATH",
                      help="model to compress with (bundled name or model file); when "
                      "decompressing, the model file an archive was made with")
    comp.add_argument("--embed-model", action="store_true",
                      help="store the model inside the archive, so it decodes without the model "
                      "registry (archival use; adds the model's size)")
    other_dev = parser.add_argument_group("neural predictor")
    other_dev.add_argument("--device", default="cpu", metavar="DEV",
                           help="where the neural network runs: cpu (default), cuda, cuda:1 ...; "
                           "archives are byte-identical on every device")
    other = parser.add_argument_group("other options")
    other.add_argument("-T", "--threads", type=int, default=0, metavar="N",
                       help="threads for the model (0: one per core, the default); archives are "
                       "byte-identical for every N")
    other.add_argument("-M", "--memlimit", type=_memory_size, default=None, metavar="LIMIT",
                       help="refuse to compress or decompress with more memory than LIMIT: bytes, "
                       "with a KiB, MiB or GiB suffix (K, M, G alike), or a percentage of RAM; "
                       "0: no limit (the default). 'dnacodec -lv' shows what an archive needs")
    comp.add_argument("--size-hint", type=_byte_count, default=None, metavar="SIZE",
                      help="about how many bytes standard input or a pipe will bring (like zstd's): "
                      "a small input then gets the level's model with smaller tables, which needs "
                      "less memory and time; regular files use their size")
    other.add_argument("-v", "--verbose", action="count", default=0,
                       help="print sizes, ratio and bits per base of each file")
    other.add_argument("-q", "--quiet", action="count", default=0,
                       help="suppress warnings and progress; twice: also errors")
    other.add_argument("-V", "--version", action="version", version=_version_text())
    parser.add_argument("files", nargs="*", metavar="FILE", help="files to process")
    parser.set_defaults(op="compress", level=None)
    return parser


# -- small helpers -------------------------------------------------------------------------------


_SIZE_UNITS = {"": 0, "k": 10, "kb": 10, "ki": 10, "kib": 10, "m": 20, "mb": 20, "mi": 20, "mib": 20,
               "g": 30, "gb": 30, "gi": 30, "gib": 30}


def _memory_size(text: str) -> int | None:
    """--memlimit's LIMIT in bytes (None: no limit), xz's syntax: N, N with a binary unit, or N%."""
    value = text.strip()
    if value.endswith("%"):
        try:
            percent = float(value[:-1])
        except ValueError:
            percent = -1.0
        if not 0 < percent <= 100:
            raise argparse.ArgumentTypeError(f"invalid percentage {text!r} (1-100%)")
        return max(1, int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * percent / 100))
    return _byte_count(value, "memory size", "800MiB, 2G, 50%") or None


def _byte_count(text: str, what: str = "size", examples: str = "230k, 5MiB") -> int:
    """A byte count: N, or N with a binary unit (K/KiB, M/MiB, G/GiB)."""
    value = text.strip()
    digits = len(value) - len(value.lstrip("0123456789"))
    unit = value[digits:].strip().lower()
    if not digits or unit not in _SIZE_UNITS:
        raise argparse.ArgumentTypeError(f"invalid {what} {text!r} (e.g. {examples})")
    return int(value[:digits]) << _SIZE_UNITS[unit]


def _human(n: int) -> str:
    """Bytes in binary units (as xz --list does)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024.0
        if value < 1024.0 or unit == "PiB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def _ratio(archive: int, original: int) -> str:
    return f"{archive / original:.3f}" if original else "---"


def _bpb(archive: int, bases: int | None) -> str:
    return f"{archive * 8 / bases:.3f}" if bases else "---"


def remaining_size(f: IO[bytes]) -> int | None:
    """Bytes left to read in ``f`` when it is a regular file, standard input redirected from one
    included; None for pipes, terminals and the like."""
    try:
        st = os.fstat(f.fileno())
        return max(0, st.st_size - f.tell()) if stat.S_ISREG(st.st_mode) else None
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        return None


class _Counting(io.RawIOBase):
    """Read-through wrapper counting (and reporting) the bytes read from a binary stream."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self._raw = raw
        self._on_read = on_read
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        data = self._raw.read(size)
        if data:
            self.count += len(data)
            if self._on_read is not None:
                self._on_read(len(data))
        return data

    def readinto(self, b: Any) -> int:  # type: ignore[override]
        data = self.read(len(memoryview(b)))
        memoryview(b).cast("B")[: len(data)] = data
        return len(data)


class _Output:
    """A binary destination: standard output, a device/FIFO, or a regular file written atomically.

    A regular file is written to a temporary file in the same directory; :meth:`commit` copies the
    input's metadata and renames it to the final name; :meth:`discard` removes it.
    """

    def __init__(self, path: str | None, force: bool, input_stat: os.stat_result | None) -> None:
        self.path = path
        self.display = STDOUT_NAME if path is None else path
        self.regular = False  # a regular file, written via a temporary file
        self._tmp: str | None = None
        self._force = force
        self.written = 0
        if path is None:
            stdout = sys.stdout
            stdout.flush()
            self._file: Any = getattr(stdout, "buffer", stdout)
            self._close = False
            return
        try:
            st: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise _Fail(path, exc.strerror or str(exc)) from None
        if st is not None:
            if input_stat is not None and os.path.samestat(st, input_stat):
                raise _Fail(path, "input and output are the same file")
            if stat.S_ISDIR(st.st_mode):
                raise _Fail(path, "output is a directory")
            if not stat.S_ISREG(st.st_mode):  # a device or FIFO (e.g. /dev/null): write in place
                try:
                    self._file = open(path, "wb")  # noqa: SIM115
                except OSError as exc:
                    raise _Fail(path, exc.strerror or str(exc)) from None
                self._close = True
                return
            if not force:
                raise _Fail(path, "output file exists (use -f to overwrite)")
        directory, base = os.path.split(path)
        try:
            fd, self._tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory or ".")
        except OSError as exc:
            raise _Fail(path, exc.strerror or str(exc)) from None
        self._file = os.fdopen(fd, "wb")
        self._close = True
        self.regular = True

    @property
    def tmp_path(self) -> str | None:
        """The temporary file being written (regular files only)."""
        return self._tmp

    def write(self, data: bytes) -> None:
        if data:
            try:
                self._file.write(data)
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise self._write_error(exc) from None
            self.written += len(data)

    def finish(self, sync: bool) -> None:
        """Flush (and fsync when ``sync``) the data; the destination is still under its temp name."""
        try:
            self._file.flush()
            if sync and self.regular:
                os.fsync(self._file.fileno())
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._write_error(exc) from None

    def _write_error(self, exc: OSError) -> _Fail:
        """A failed write (e.g. disk full) is reported against the output, not the input."""
        return _Fail(self.display, f"write error: {_message(exc)}")

    def commit(self, input_stat: os.stat_result | None) -> None:
        """Close and move a regular file into place with the input's mode, owner and times."""
        if self._close:
            self._file.close()
        if not self.regular:
            return
        assert self._tmp is not None and self.path is not None
        _copy_metadata(self._tmp, input_stat)
        if not self._force and os.path.lexists(self.path):
            raise _Fail(self.path, "output file exists (use -f to overwrite)")
        os.replace(self._tmp, self.path)
        self._tmp = None

    def discard(self) -> None:
        """Close and remove a partial output (never raises)."""
        if self._close:
            try:
                self._file.close()
            except OSError:
                pass
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


def _copy_metadata(path: str, st: os.stat_result | None) -> None:
    """Give ``path`` the permissions, owner and times of the input (like xz), or default perms."""
    if st is None:  # input from stdin: an ordinary new file
        os.chmod(path, 0o666 & ~_umask())
        return
    if hasattr(os, "chown"):
        try:
            os.chown(path, st.st_uid, st.st_gid)
        except OSError:
            try:
                os.chown(path, -1, st.st_gid)
            except OSError:
                pass
    os.chmod(path, stat.S_IMODE(st.st_mode) & 0o777)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# -- the tool ------------------------------------------------------------------------------------


class _Tool:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.status = EXIT_OK
        self.read_model: Any = None  # --model resolved for decoding (archives made with a model file)
        self._progress_enabled = args.quiet == 0 and _isatty(sys.stderr)

    # reporting
    def error(self, name: str, message: str) -> None:
        self.status = EXIT_ERROR
        if self.args.quiet < 2:
            _eprint(f"{PROG}: {name}: {message}")

    def warn(self, name: str, message: str) -> None:
        if self.status == EXIT_OK:
            self.status = EXIT_WARNING
        if self.args.quiet < 1:
            _eprint(f"{PROG}: {name}: {message}")

    def info(self, message: str) -> None:
        _eprint(message)

    def show_warning(self, message: Warning | str, category: type[Warning], filename: str, lineno: int,
                     file: IO[str] | None = None, line: str | None = None) -> None:
        """``warnings.showwarning`` while the tool runs: one line (the library's warnings are about
        the installation, such as a missing C extension, not the data: the exit status stays)."""
        if self.args.quiet < 1:
            _eprint(f"{PROG}: warning: {message}")

    # compressors
    def prepare_compressor(self) -> bool:
        """Validate the level/model once up front. The memory limit is checked here against the
        smallest sizing the input could get, and again for each input once its size is known."""
        try:
            self._new_compressor(0 if self.args.size_hint is None else self.args.size_hint)
        except (ValueError, OSError) as exc:  # CodecError is a ValueError
            what = "--model" if self.args.model is not None else "level"
            if isinstance(exc, engine.MemoryLimitError):
                what = "--memlimit"
            self.error(what, _message(exc))
            return False
        return True

    def prepare_read_model(self) -> bool:
        """Load --model once for -d/-t/-l (needed for archives made with a model file)."""
        if self.args.model is None:
            return True
        try:
            self.read_model = api.resolve_model(self.args.model)
        except (ValueError, OSError) as exc:
            self.error("--model", _message(exc))
            return False
        return True

    def _new_compressor(self, size_hint: int | None) -> engine.Compressor:
        """A compressor for an input of about ``size_hint`` bytes (None: unknown)."""
        level = engine.DEFAULT_LEVEL if self.args.level is None else self.args.level
        return engine.Compressor(level, self.args.model, embed_model=self.args.embed_model,
                                 device=self.args.device, memlimit=self.args.memlimit, size_hint=size_hint)

    # per-file processing
    def run_file(self, name: str) -> None:
        display = STDIN_NAME if name == "-" else name
        try:
            self._process(name)
        except _Skip as exc:
            self.warn(display, str(exc))
        except _Fail as exc:
            self.error(exc.name, str(exc))
        except BrokenPipeError:
            raise
        except (CodecError, OSError) as exc:
            self.error(display, _message(exc))

    def _check_input(self, name: str, to_stdout: bool) -> os.stat_result:
        """Stat an input path; skip symbolic links, directories and special files like xz."""
        try:
            lst = os.lstat(name)
            if stat.S_ISLNK(lst.st_mode) and not (self.args.force or to_stdout):
                raise _Skip("is a symbolic link, skipping")
            st = os.stat(name)
        except OSError as exc:
            raise _Fail(name, exc.strerror or str(exc)) from None
        if stat.S_ISDIR(st.st_mode):
            raise _Skip("is a directory, skipping")
        if not stat.S_ISREG(st.st_mode) and not to_stdout:
            raise _Skip("is not a regular file, skipping")
        return st

    def _output_path(self, name: str) -> str | None:
        """Destination path of ``name`` (None: standard output)."""
        args = self.args
        if args.stdout:
            return None
        if args.output is not None:
            return None if args.output == "-" else args.output
        if name == "-":
            return None
        if args.op == "compress":
            if name.endswith(SUFFIX):
                raise _Skip(f"already has {SUFFIX} suffix, skipping")
            return name + SUFFIX
        base = os.path.basename(name)
        if not base.endswith(SUFFIX) or base == SUFFIX:
            raise _Skip(f"unknown suffix (not {SUFFIX}), skipping; use -c or -o to choose the output")
        return name[: -len(SUFFIX)]

    def _process(self, name: str) -> None:
        args = self.args
        op = args.op
        display = STDIN_NAME if name == "-" else name
        to_stdout = op != "test" and (
            args.stdout or args.output == "-" or (name == "-" and args.output is None)
        )
        in_stat: os.stat_result | None = None
        if name != "-":
            in_stat = self._check_input(name, to_stdout or op == "test")
        out_path = None if op == "test" else self._output_path(name)

        if name == "-":
            stdin = sys.stdin
            src: IO[bytes] = getattr(stdin, "buffer", stdin)
            close_src = False
        else:
            try:
                src = open(name, "rb")  # noqa: SIM115
            except OSError as exc:
                raise _Fail(name, exc.strerror or str(exc)) from None
            close_src = True

        output: _Output | None = None
        bar = None
        try:
            if op != "test":
                output = _Output(out_path, args.force, in_stat)
            total = remaining_size(src)
            bar = self._progress(display, total)
            counter = _Counting(src, bar.update if bar is not None else None)
            if op == "compress":
                assert output is not None
                comp = self._new_compressor(self.args.size_hint if total is None else total)
                while chunk := counter.read(CHUNK_SIZE):
                    output.write(comp.compress(chunk))
                    cli_signals.check()
                output.write(comp.flush())
                produced = output.written
                coded_bases = getattr(comp, "stats", {}).get("bases")
            else:
                produced = 0
                coded_bases = None
                with api.DnacFile(counter, "rb", model=self.read_model, device=self.args.device,
                                  memlimit=self.args.memlimit) as reader:
                    while chunk := reader.read(CHUNK_SIZE):
                        produced += len(chunk)
                        if output is not None:
                            output.write(chunk)
                        cli_signals.check()
            remove_input = (
                in_stat is not None and not args.keep and output is not None
                and output.regular and not args.stdout
            )
            if output is not None:
                output.finish(sync=remove_input)
            if bar is not None:
                bar.close()
                bar = None
            if args.verbose and args.quiet == 0:
                self._report(name, display, op, counter.count, produced, output, coded_bases)
            cli_signals.check()  # the last moment an interrupt can still stop the run
            if output is not None:
                out, output = output, None
                try:
                    out.commit(in_stat)
                except BaseException:
                    out.discard()
                    raise
            if remove_input:
                try:
                    os.unlink(name)
                except OSError as exc:
                    self.warn(name, f"cannot remove input: {exc.strerror or exc}")
        finally:
            if bar is not None:
                bar.close()
            if output is not None:
                output.discard()
            if close_src:
                src.close()

    def _progress(self, display: str, total: int | None) -> Any:
        if not self._progress_enabled:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=display, unit="B", unit_scale=True, unit_divisor=1024,
                    leave=False, file=sys.stderr, dynamic_ncols=True)

    def _report(self, name: str, display: str, op: str, consumed: int, produced: int,
                output: _Output | None, bases: int | None) -> None:
        """The -v line of one file: sizes, ratio, and bits per (entropy-coded) base."""
        if op == "compress":
            original, archive = consumed, produced
            archive_path = output.tmp_path if output is not None else None
        else:
            original, archive = produced, consumed
            archive_path = None if name == "-" else name
        if bases is None and archive_path is not None:
            try:
                with open(archive_path, "rb") as f:
                    bases = self._inspect(f).get("bases")
            except (CodecError, OSError):
                bases = None
        parts = [f"{original:,} -> {archive:,} bytes" if op == "compress"
                 else f"{archive:,} -> {original:,} bytes",
                 f"ratio {_ratio(archive, original)}",
                 f"{_bpb(archive, bases)} bits/base"]
        prefix = f"{display}: OK, " if op == "test" else f"{display}: "
        self.info(prefix + ", ".join(parts))

    def _inspect(self, fileobj: IO[bytes]) -> dict[str, Any]:
        if self.read_model is None:
            return engine.inspect(fileobj)
        return engine.inspect(fileobj, model=self.read_model)  # type: ignore[call-arg]

    # --list
    def list_files(self, names: Sequence[str]) -> None:
        rows: list[tuple[str, dict[str, Any]]] = []
        for name in names:
            if name == "-":
                self.error(STDIN_NAME, "--list does not support reading from standard input")
                continue
            try:
                self._check_input(name, True)
                with open(name, "rb") as f:
                    info = self._inspect(f)
            except _Skip as exc:
                self.warn(name, str(exc))
                continue
            except _Fail as exc:
                self.error(exc.name, str(exc))
                continue
            except (CodecError, OSError) as exc:
                self.error(name, _message(exc))
                continue
            if self.args.json:
                print(json.dumps({"file": name, **info}, default=_json_default), flush=True)
            elif self.args.verbose:
                self._print_verbose_listing(name, info)
            else:
                rows.append((name, info))
        if rows:
            self._print_table(rows)

    @staticmethod
    def _print_table(rows: list[tuple[str, dict[str, Any]]]) -> None:
        header = ("Members", "Blocks", "Lanes", "Records", "Bases", "Compressed", "Uncompressed",
                  "Ratio", "Bits/base", "Level", "Model", "Filename")
        numeric = 9  # right-aligned columns
        table = []
        totals = {"members": 0, "blocks": 0, "lanes": 0, "records": 0, "bases": 0,
                  "archive_bytes": 0, "original_bytes": 0}
        for name, info in rows:
            for key in totals:
                totals[key] += int(info.get(key, 1 if key == "members" else 0) or 0)
            table.append(_row(info, str(info.get("level", "?")), _model_name(info), name))
        if len(rows) > 1:
            total_row = list(_row(totals, "", "", f"{len(rows)} files"))
            total_row[2] = ""  # lane counts do not add up
            table.append(tuple(total_row))
        widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header) - 1)]
        for r in [header, *table]:
            cells = [c.rjust(w) if i < numeric else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
            print("  ".join(cells) + "  " + r[-1])

    @staticmethod
    def _print_verbose_listing(name: str, info: dict[str, Any]) -> None:
        original, archive = int(info.get("original_bytes", 0)), int(info.get("archive_bytes", 0))
        model = info.get("model") or {}
        lines = [
            f"{name}",
            f"  Uncompressed:  {original:>14,} B  ({_human(original)})",
            f"  Compressed:    {archive:>14,} B  ({_human(archive)})",
            f"  Ratio:         {_ratio(archive, original):>14}",
            f"  Bits/base:     {_bpb(archive, info.get('bases')):>14}",
            f"  Members:       {int(info.get('members', 1)):>14,}",
            f"  Records:       {int(info.get('records', 0)):>14,}",
            f"  Bases:         {int(info.get('bases', 0)):>14,}",
            f"  Blocks:        {int(info.get('blocks', 0)):>14,}",
            f"  Lanes:         {int(info.get('lanes', 0)):>14,}",
            f"  Level:         {info.get('level', '?')!s:>14}",
            f"  Model:         {model.get('name', '?')} ({model.get('fingerprint', '?')})",
            f"  Memory needed: {_human(int(info.get('memory_bytes', 0))):>14}",
            "  Streams:",
        ]
        streams = info.get("streams") or {}
        width = max((len(k) for k in streams), default=0)
        for key, size in streams.items():
            share = f"{100.0 * size / archive:5.1f} %" if archive else "  --- "
            lines.append(f"    {key:<{width}}  {int(size):>14,} B  {share}")
        print("\n".join(lines), flush=True)


def _row(info: dict[str, Any], level: str, model: str, name: str) -> tuple[str, ...]:
    original, archive = int(info.get("original_bytes") or 0), int(info.get("archive_bytes") or 0)
    return (f"{int(info.get('members', 1) or 0):,}", f"{int(info.get('blocks') or 0):,}", f"{int(info.get('lanes') or 0):,}",
            f"{int(info.get('records') or 0):,}", f"{int(info.get('bases') or 0):,}",
            _human(archive), _human(original), _ratio(archive, original),
            _bpb(archive, info.get("bases")), level, model, name)


def _model_name(info: dict[str, Any]) -> str:
    model = info.get("model")
    if isinstance(model, dict):
        return str(model.get("name", "?"))
    return str(model)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return obj.hex()
    return str(obj)


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())  # always one line


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _eprint(message: str) -> None:
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _validate(args: argparse.Namespace) -> None:
    if args.json and args.op != "list":
        raise _UsageError("--json is only valid with --list")
    if args.output is not None:
        if args.stdout:
            raise _UsageError("--output and --stdout are mutually exclusive")
        if args.op in ("test", "list"):
            raise _UsageError(f"--output is not valid with --{args.op}")
        if len(args.files) > 1:
            raise _UsageError("--output needs exactly one input FILE")
        if args.output == "":
            raise _UsageError("--output needs a non-empty PATH")
    if args.threads < 0:
        raise _UsageError("--threads needs N >= 0")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dnacodec`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        from codec import cli_train

        return cli_train.main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _validate(args)
    except _UsageError as exc:
        _eprint(f"{PROG}: {exc} (try '{PROG} --help')")
        return EXIT_ERROR
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as exc:  # --help / --version to a full disk
        _eprint(f"{PROG}: {STDOUT_NAME}: write error: {_message(exc)}")
        return EXIT_ERROR

    tool = _Tool(args)
    if args.op != "list" and args.threads:  # 0: one thread per core
        from codec.predictors import kernel

        kernel.set_threads(args.threads)
    if args.device != "cpu":
        try:
            engine.check_device(args.device)
        except ValueError as exc:
            _eprint(f"{PROG}: --device: {exc}")
            return EXIT_ERROR
    files = list(args.files) or ["-"]
    op = args.op
    with cli_signals.handled(), warnings.catch_warnings():
        warnings.showwarning = tool.show_warning
        return _run(tool, args, op, files)


def _run(tool: _Tool, args: argparse.Namespace, op: str, files: list[str]) -> int:
    try:
        if op != "compress" and not tool.prepare_read_model():
            return tool.status
        if op == "list":
            try:
                tool.list_files(files)
                sys.stdout.flush()
            except BrokenPipeError:
                raise
            except OSError as exc:  # e.g. a full disk under the listing
                tool.error(STDOUT_NAME, f"write error: {_message(exc)}")
            return tool.status
        # Refuse to read compressed data from, or write it to, a terminal (like xz).
        if "-" in files and op in ("decompress", "test") and _isatty(sys.stdin):
            tool.error(STDIN_NAME, "compressed data not read from a terminal")
            return tool.status
        to_stdout = args.stdout or args.output == "-" or ("-" in files and args.output is None)
        if op == "compress" and to_stdout and not args.force and _isatty(sys.stdout):
            tool.error(STDOUT_NAME, "compressed data not written to a terminal (use -f to force)")
            return tool.status
        if op == "compress" and not tool.prepare_compressor():
            return tool.status
        for name in files:
            tool.run_file(name)
        return tool.status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except cli_signals.Terminated as exc:
        return 128 + exc.signum
    except BrokenPipeError:
        return _closed_pipe()


def _closed_pipe() -> int:
    """The reader of our standard output went away: exit quietly, as if killed by SIGPIPE. Points
    stdout at /dev/null so that a final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass
    return EXIT_SIGPIPE


def run() -> NoReturn:
    """The ``dnacodec`` program: :func:`main`, then exit at once with its status.

    Everything the tool writes is complete, flushed and closed by the time :func:`main` returns;
    only the interpreter's own teardown is skipped, which frees what the process ends anyway (the
    model's tables, torch and numpy's objects where loaded)."""
    status = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            if stream is sys.stdout and status in (EXIT_OK, EXIT_WARNING):
                status = EXIT_SIGPIPE
        except (OSError, ValueError, AttributeError):
            if status == EXIT_OK:
                status = EXIT_ERROR
    os._exit(status)


if __name__ == "__main__":
    run()
