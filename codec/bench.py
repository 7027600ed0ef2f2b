"""Benchmark: ``python -m codec.bench FILE... [--level N]... [--model NAME|PATH]...`` prints, per file,
bits per base, archive bytes, compress/decompress MB/s and peak RSS for dnacodec (every level x model
given: a speed/ratio ladder, or an ablation such as ``--model cm-v1 --model deepdna-mito-v1``) and,
measured in the same run, xz -9, zstd -19 --long=27 and gzip -9 (``--no-peers`` skips them). dnacodec rows also give the body's bits per base and the entropy
coder's overhead over the model's ideal code length. Every tool runs as its own process (peak RSS
from wait4) on an otherwise idle machine, one at a time; all outputs are checked to round-trip.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEERS = {
    "xz -9": (["xz", "-9", "-c", "-T1"], ["xz", "-d", "-c"]),
    "zstd -19 --long=27": (["zstd", "-19", "--long=27", "-c", "-q"], ["zstd", "-d", "--long=27", "-c", "-q"]),
    "gzip -9": (["gzip", "-9", "-c"], ["gzip", "-d", "-c"]),
}


def _run(cmd: list[str], src: Path, dst: Path) -> tuple[float, float, bytes]:
    """Run cmd < src > dst; return (seconds, peak RSS in MB, stdout of nothing / stderr)."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        err = proc.stderr.read()
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.decode(errors='replace')}")
    return seconds, usage.ru_maxrss / 1024, err


def _worker(argv: list[str]) -> None:
    """Child process: compress stdin to stdout in-process and report coder statistics on stderr."""
    from codec.engine import Compressor

    level = int(argv[0])
    comp = Compressor(level=level, model=argv[1] if len(argv) > 1 and argv[1] else None)
    src, out = sys.stdin.buffer, sys.stdout.buffer
    while chunk := src.read(1 << 20):
        out.write(comp.compress(chunk))
    out.write(comp.flush())
    out.flush()
    sys.stderr.write(json.dumps(comp.stats))


def bench_dnacodec(path: Path, level: int, model: str | None, tmp: Path) -> dict:
    raw = path.stat().st_size
    packed, restored = tmp / "packed", tmp / "restored"
    me = [sys.executable, "-m", "codec.bench", "--worker", str(level), model or ""]
    t_c, rss_c, err = _run(me, path, packed)
    stats = json.loads(err)
    with_model = ["--model", model] if model else []
    t_d, rss_d, _ = _run([sys.executable, "-m", "codec", "-dc", *with_model], packed, restored)
    _check(path, restored)
    info = json.loads(subprocess.run([sys.executable, "-m", "codec", "-l", "--json", *with_model, str(packed)],
                                     capture_output=True, check=True).stdout)
    bases = info["bases"] or 1
    overhead = (8 * stats["body_bytes"] / stats["ideal_body_bits"] - 1) if stats["ideal_body_bits"] else 0.0
    tool = f"dnacodec -{level}" + (f" {Path(model).name}" if model else "")
    return dict(tool=tool, bytes=packed.stat().st_size, bpb=8 * packed.stat().st_size / bases,
                body_bpb=8 * info["streams"]["body"] / bases, overhead=overhead,
                c=raw / t_c / 1e6, d=raw / t_d / 1e6, rss=max(rss_c, rss_d), bases=info["bases"])


def bench_file(path: Path, levels: list[int], model_names: list[str | None], tmp: Path,
               peers: bool = True) -> list[dict]:
    raw = path.stat().st_size
    packed, restored = tmp / "packed", tmp / "restored"
    rows = [bench_dnacodec(path, level, model, tmp) for model in model_names for level in levels]
    bases = rows[0]["bases"] or 1
    for name, (ccmd, dcmd) in PEERS.items():
        if not peers:
            break
        if not shutil.which(ccmd[0]):
            continue
        t_c, rss_c, _ = _run(ccmd, path, packed)
        t_d, rss_d, _ = _run(dcmd, packed, restored)
        _check(path, restored)
        size = packed.stat().st_size
        rows.append(dict(tool=name, bytes=size, bpb=8 * size / bases, body_bpb=None, overhead=None,
                         c=raw / t_c / 1e6, d=raw / t_d / 1e6, rss=max(rss_c, rss_d)))
    for r in rows:
        r.update(file=path.name, bases=rows[0]["bases"], original=raw)
    return rows


def _check(a: Path, b: Path) -> None:
    if a.read_bytes() != b.read_bytes():
        raise RuntimeError(f"round trip of {a} is not identical")


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
    args = ap.parse_args(argv)
    head = f"{'file':28} {'tool':32} {'bases':>10} {'archive B':>10} {'bits/base':>9} {'body bpb':>8} {'coder ovh':>9} {'comp MB/s':>9} {'dec MB/s':>8} {'RSS MB':>7}"
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory(prefix="dnacodec-bench-") as tmp:
        for path in args.files:
            for r in bench_file(path, args.level or [6], args.model or [None], Path(tmp), not args.no_peers):
                body = f"{r['body_bpb']:8.4f}" if r["body_bpb"] is not None else f"{'':8}"
                ovh = f"{100 * r['overhead']:8.3f}%" if r["overhead"] is not None else f"{'':9}"
                print(f"{r['file'][:28]:28} {r['tool'][:32]:32} {r['bases']:>10} {r['bytes']:>10} {r['bpb']:9.4f} "
                      f"{body} {ovh} {r['c']:9.3f} {r['d']:8.3f} {r['rss']:7.1f}", flush=True)
                if args.json:
                    print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
