"""Benchmark: ``python -m codec.bench FILE... [--level N]... [--model NAME|PATH]... [--repeat N]`` prints,
per file, bits per base, archive bytes, compress/decompress MB/s and peak RSS for dnacodec (every level x
model given: a speed/ratio ladder, or an ablation such as ``--model cm-v1 --model deepdna-mito-v1``)
and, measured in the same run, xz -9, zstd -19 --long=27 and gzip -9 (``--no-peers`` skips them).
dnacodec rows also give the body's bits per base and the entropy coder's overhead over the model's
ideal code length. Every tool runs as its own process, one at a time, timed and measured (peak RSS
from wait4) by a small launcher, whose own 10 MB or so is the smallest RSS a row can show; all
outputs are checked to round-trip. dnacodec is timed as users run it (``python -m codec -N -c <
FILE``); the coder statistics come from one more, untimed, in-process compression whose archive must
be identical.

A shared machine's speed drifts by tens of percent within minutes, so one run of each tool says
little. ``--repeat N`` runs N rounds, each running every tool once in turn, and prints the median
speed with the slowest and fastest run. The ``c/xz`` and ``d/xz`` columns measure the machine's
speed by a fixed job, xz -9's compression in the same round: the median over the rounds of each
tool's compression and decompression speed over it, which drift moves much less (the issue's speed
target for the default level, both ways, is "about xz -9's compression speed here").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PEERS = {
    "xz -9": (["xz", "-9", "-c", "-T1"], ["xz", "-d", "-c"]),
    "zstd -19 --long=27": (["zstd", "-19", "--long=27", "-c", "-q"], ["zstd", "-d", "--long=27", "-c", "-q"]),
    "gzip -9": (["gzip", "-9", "-c"], ["gzip", "-d", "-c"]),
}


# Runs a tool and writes "<seconds> <peak RSS in KiB>" to the file descriptor argv[1]. Linux keeps a
# process's peak RSS across fork and exec, so a tool started straight from this process (100 MB and
# more with numpy loaded) would report at least this process's size; started from this small
# launcher (python -I -S, about 10 MB) it reports its own, or the launcher's if smaller.
_LAUNCHER = """
import os, sys, time
fd = int(sys.argv[1])
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
os.write(fd, f"{time.perf_counter() - t0} {usage.ru_maxrss}".encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _run(cmd: list[str], src: Path, dst: Path) -> tuple[float, float, bytes]:
    """Run cmd < src > dst; return (seconds, peak RSS in MB, its stderr)."""
    r, w = os.pipe()
    try:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(w), *cmd], stdin=fin,
                                    stdout=fout, stderr=subprocess.PIPE, pass_fds=(w,))
            os.close(w)
            w = -1
            _, err = proc.communicate()
        report = os.read(r, 100).split()
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    if proc.returncode != 0 or len(report) != 2:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.decode(errors='replace')}")
    return float(report[0]), int(report[1]) / 1024, err


def _worker(argv: list[str]) -> None:
    """Child process: compress stdin to stdout in-process, as the ``dnacodec`` program does, and
    report coder statistics on stderr."""
    from codec.cli import remaining_size
    from codec.engine import Compressor

    level = int(argv[0])
    src, out = sys.stdin.buffer, sys.stdout.buffer
    comp = Compressor(level=level, model=argv[1] if len(argv) > 1 and argv[1] else None,
                      size_hint=remaining_size(src))  # as `dnacodec FILE` does
    while chunk := src.read(1 << 20):
        out.write(comp.compress(chunk))
    out.write(comp.flush())
    out.flush()
    sys.stderr.write(json.dumps(comp.stats))


@dataclass
class _Tool:
    """One row of the table: how to compress and decompress with a tool, and its runs' seconds."""

    name: str
    compress: list[str]
    decompress: list[str]
    listing: list[str] | None = None  # dnacodec's `-l --json` command (its rows add coder statistics)
    statistics: list[str] | None = None  # dnacodec's in-process compression that reports them, run once
    c_runs: list[float] = field(default_factory=list)
    d_runs: list[float] = field(default_factory=list)
    rss: float = 0.0
    size: int = 0
    stats: dict | None = None


def _dnacodec(level: int, model: str | None) -> _Tool:
    with_model = ["--model", model] if model else []
    return _Tool(f"dnacodec -{level}" + (f" {Path(model).name}" if model else ""),
                 [sys.executable, "-m", "codec", f"-{level}", "-c", *with_model],
                 [sys.executable, "-m", "codec", "-dc", *with_model],
                 listing=[sys.executable, "-m", "codec", "-l", "--json", *with_model],
                 statistics=[sys.executable, "-m", "codec.bench", "--worker", str(level), model or ""])


def _round(tool: _Tool, path: Path, tmp: Path) -> None:
    """One compression and decompression with ``tool``, checked and added to its runs."""
    packed, restored = tmp / "packed", tmp / "restored"
    t_c, rss_c, _ = _run(tool.compress, path, packed)
    t_d, rss_d, _ = _run(tool.decompress, packed, restored)
    _check(path, restored)
    tool.c_runs.append(t_c)
    tool.d_runs.append(t_d)
    tool.rss = max(tool.rss, rss_c, rss_d)
    size = packed.stat().st_size
    if tool.c_runs[1:] and size != tool.size:
        raise RuntimeError(f"{tool.name} made {size} bytes of {path}, {tool.size} before")
    tool.size = size
    if tool.listing is not None and tool.stats is None:
        # untimed: the same compression in-process, which also reports the coder's statistics
        _, _, err = _run(tool.statistics, path, restored)
        if restored.read_bytes() != packed.read_bytes():
            raise RuntimeError(f"{tool.name}: the statistics run's archive of {path} differs from the CLI's")
        info = json.loads(subprocess.run([*tool.listing, str(packed)], capture_output=True, check=True).stdout)
        tool.stats = dict(json.loads(err), bases=info["bases"], body=info["streams"]["body"])


def _relative(runs: list[float], reference: list[float] | None) -> float | None:
    """Median over rounds of a speed (from seconds ``runs``) over a reference job's in the same round."""
    if not reference:
        return None
    return statistics.median(r / t for t, r in zip(runs, reference))


def bench_file(path: Path, levels: list[int], model_names: list[str | None], tmp: Path,
               peers: bool = True, repeat: int = 1) -> list[dict]:
    """The table's rows for one file: every level x model, then the peers found on PATH, each run
    ``repeat`` times in rounds (every tool once per round)."""
    raw = path.stat().st_size
    tools = [_dnacodec(level, model) for model in model_names for level in levels]
    if peers:
        tools += [_Tool(name, c, d) for name, (c, d) in PEERS.items() if shutil.which(c[0])]
    for _ in range(repeat):
        for tool in tools:
            _round(tool, path, tmp)
    xz = next((t for t in tools if t.name == "xz -9"), None)
    bases = next((t.stats["bases"] for t in tools if t.stats), 0) or 1
    def mbps(seconds: float) -> float:
        return raw / seconds / 1e6

    rows = []
    for t in tools:
        st = t.stats
        overhead = body_bpb = None
        if st is not None:
            body_bpb = 8 * st["body"] / bases
            overhead = (8 * st["body_bytes"] / st["ideal_body_bits"] - 1) if st["ideal_body_bits"] else 0.0
        rows.append(dict(
            tool=t.name, file=path.name, bases=bases, original=raw, bytes=t.size, bpb=8 * t.size / bases,
            body_bpb=body_bpb, overhead=overhead, rss=t.rss,
            c=mbps(statistics.median(t.c_runs)), d=mbps(statistics.median(t.d_runs)),
            c_seconds=t.c_runs, d_seconds=t.d_runs,
            c_range=(mbps(max(t.c_runs)), mbps(min(t.c_runs))), d_range=(mbps(max(t.d_runs)), mbps(min(t.d_runs))),
            c_vs_xz=_relative(t.c_runs, xz.c_runs if xz else None),
            d_vs_xz=_relative(t.d_runs, xz.c_runs if xz else None)))
    return rows


def _check(a: Path, b: Path) -> None:
    if a.read_bytes() != b.read_bytes():
        raise RuntimeError(f"round trip of {a} is not identical")


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def _table_row(r: dict) -> str:
    def speed(median: float, lo_hi: tuple[float, float]) -> str:
        return f"{median:7.3f} ({lo_hi[0]:.2f}-{lo_hi[1]:.2f})"

    def ratio(x: float | None) -> str:
        return f"{x:5.2f}" if x is not None else f"{'':5}"

    body = f"{r['body_bpb']:8.4f}" if r["body_bpb"] is not None else f"{'':8}"
    ovh = f"{100 * r['overhead']:8.3f}%" if r["overhead"] is not None else f"{'':9}"
    return (f"{r['file'][:28]:28} {r['tool'][:24]:24} {r['bases']:>10} {r['bytes']:>10} {r['bpb']:9.4f} {body} {ovh} "
            f"{speed(r['c'], r['c_range']):>19} {speed(r['d'], r['d_range']):>19} {ratio(r['c_vs_xz'])} "
            f"{ratio(r['d_vs_xz'])} {r['rss']:7.1f}")


def startup_seconds(tmp: Path, runs: int) -> float:
    """Median seconds of ``dnacodec -c`` on an empty input: starting Python, importing numpy and the
    codec, writing an empty archive. Every dnacodec time in the table includes it."""
    empty, out = tmp / "empty", tmp / "empty.dnac"
    empty.write_bytes(b"")
    return statistics.median(_run([sys.executable, "-m", "codec", "-c"], empty, out)[0] for _ in range(runs))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        _worker(argv[1:])
        return 0
    ap = argparse.ArgumentParser(prog="python -m codec.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--level", type=int, action="append", help="level (repeatable; default 6)")
    ap.add_argument("--model", action="append", help="model name or file (repeatable; default: the level's)")
    ap.add_argument("--no-peers", action="store_true", help="skip xz, zstd and gzip")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON lines")
    ap.add_argument("--repeat", type=_positive, default=1, metavar="N",
                    help="rounds of runs (each tool once per round); speeds are medians (default 1)")
    args = ap.parse_args(argv)
    head = (f"{'file':28} {'tool':24} {'bases':>10} {'archive B':>10} {'bits/base':>9} {'body bpb':>8} "
            f"{'coder ovh':>9} {'comp MB/s':>19} {'dec MB/s':>19} {'c/xz':>5} {'d/xz':>5} {'RSS MB':>7}")
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory(prefix="dnacodec-bench-") as tmp:
        for path in args.files:
            for r in bench_file(path, args.level or [6], args.model or [None], Path(tmp), not args.no_peers,
                                args.repeat):
                print(_table_row(r), flush=True)
                if args.json:
                    print(json.dumps(r), flush=True)
        start = startup_seconds(Path(tmp), max(3, args.repeat))
    print(f"start-up: dnacodec on an empty input takes {start:.3f} s (median), a fixed cost in each of its times above "
          f"(at 1 MB/s, all the time a {start * 1e3:.0f} kB file may take)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
