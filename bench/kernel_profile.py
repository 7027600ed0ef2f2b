#!/usr/bin/env python3
"""Where a compression's time goes, per thread, by compiled function and parallel region.

    .venv/bin/python bench/kernel_profile.py FILE [--level 6] [--bytes N] [--runs 2] [--top 16]

``perf`` cannot name numba's JIT code: it shows bare addresses. This script compiles the kernel afresh
(a private, empty numba cache: code loaded from a cache keeps no function names), writes
``/tmp/perf-PID.map`` with every compiled function's address, then records itself with
``perf record`` while it compresses the first N bytes of FILE ``--runs`` times, and prints each
thread's samples by function. The kernel's parallel regions appear as ``parfor v<N>`` with the kernel
functions each calls, which says which loop of ``predict`` / ``update`` it is. Samples in
``[unknown]`` (libgomp with no symbols) are a thread spinning in a barrier or waiting for the next
region: the other thread's serial work or imbalance. Needs ``perf`` (Linux) and about a minute and
a half of compilation.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def compiled_functions(module) -> dict[int, str]:
    """Address -> name of every function compiled for the numba dispatchers in ``module``."""
    out: dict[int, str] = {}
    for obj in vars(module).values():
        for cres in getattr(obj, "overloads", {}).values():
            libs = [cres.library, *getattr(cres.library, "_linking_libraries", [])]
            for lib in libs:
                mod = getattr(lib, "_final_module", None)
                if mod is None:
                    continue
                for fn in mod.functions:
                    if not fn.is_declaration:
                        addr = lib.get_pointer_to_function(fn.name)
                        if addr:
                            out[addr] = fn.name
    return out


_FRESH_CACHE = "DNAC_PROFILE_FRESH_CACHE"
_PARFOR = re.compile(r"__numba_parfor_gufunc_0x[0-9a-f]+B3v(\d+)B")
_KERNEL_FN = re.compile(r"kernel\d+(_?[a-z_]+)B\d+v\d+")


def short_name(name: str, calls: dict[str, str]) -> str:
    """A readable name: ``parfor vN (callees)`` for a parallel region, the Python name otherwise."""
    m = _PARFOR.search(name)
    if m:
        return f"parfor v{m.group(1)}" + (f" ({calls[m.group(1)]})" if calls.get(m.group(1)) else "")
    m = _KERNEL_FN.search(name)
    return m.group(1) if m else name[:60]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--bytes", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--top", type=int, default=16)
    ap.add_argument("--annotate", type=int, default=0, metavar="N",
                    help="also print the N hottest instructions of each of the three hottest kernel functions, "
                         "with the disassembly around them (needs objdump)")
    args = ap.parse_args()
    if shutil.which("perf") is None:
        sys.exit("kernel_profile: needs perf (linux-tools) on the PATH")
    if _FRESH_CACHE not in os.environ:
        # run again over an empty numba cache, so that the functions are compiled (and named) there
        with tempfile.TemporaryDirectory(prefix="dnac-profile-") as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache, _FRESH_CACHE: "1"}
            sys.exit(subprocess.run([sys.executable, *sys.argv], env=env).returncode)

    import codec
    from codec.predictors import kernel

    data = args.file.read_bytes()[: args.bytes]
    codec.compress(data[:20_000], level=args.level)  # compiles the kernel
    functions = compiled_functions(kernel)
    addrs = sorted(functions)
    perf_map = Path(f"/tmp/perf-{os.getpid()}.map")
    spans: dict[int, int] = {}
    with perf_map.open("w") as f:
        for a, b in zip(addrs, addrs[1:] + [addrs[-1] + 4096]):
            spans[a] = min(b - a, 1 << 20)
            f.write(f"{a:x} {min(b - a, 1 << 20):x} {functions[a]}\n")
    # which kernel functions each parallel region calls (those numba did not inline)
    calls: dict[str, str] = {}
    for cres in (o for obj in vars(kernel).values() for o in getattr(obj, "overloads", {}).values()):
        for lib in [cres.library, *getattr(cres.library, "_linking_libraries", [])]:
            mod = getattr(lib, "_final_module", None)
            for fn in (mod.functions if mod is not None else ()):
                m = _PARFOR.search(fn.name)
                if m and not fn.is_declaration and not fn.name.startswith("__gufunc"):
                    callees = sorted(set(_KERNEL_FN.findall(str(fn))))
                    calls[m.group(1)] = ", ".join(callees)
    fd, record = tempfile.mkstemp(suffix=".perf")
    os.close(fd)
    perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2000", "-o", record,
                             "-p", str(os.getpid())], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = codec.compress(data, level=args.level)
        print(f"compress {len(data)} bytes -> {len(out)}: {time.perf_counter() - t0:.2f} s", flush=True)
    perf.send_signal(signal.SIGINT)
    perf.wait()
    script = subprocess.run(["perf", "script", "-i", record, "-F", "tid,ip,sym"], capture_output=True, text=True)
    os.unlink(record)
    perf_map.unlink()
    per_thread: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    per_ip: collections.Counter = collections.Counter()
    for line in script.stdout.splitlines():
        parts = line.split(None, 2)  # thread, address, symbol (absent when unknown)
        if len(parts) >= 2:
            per_thread[parts[0]][short_name(parts[2].strip(), calls) if len(parts) > 2 else "[unknown]"] += 1
            per_ip[int(parts[1], 16)] += 1
    for tid, counts in sorted(per_thread.items(), key=lambda kv: -sum(kv[1].values())):
        total = sum(counts.values())
        if total < 50:
            continue
        print(f"\nthread {tid}: {total} samples")
        for name, n in counts.most_common(args.top):
            print(f"  {100 * n / total:6.2f}%  {name}")
    if args.annotate:
        annotate(per_ip, spans, functions, calls, args.annotate)


def annotate(per_ip: collections.Counter, spans: dict[int, int], functions: dict[int, str],
             calls: dict[str, str], top: int) -> None:
    """The hottest instructions of the three hottest compiled functions, each with the eight
    instructions before it (a sample lands on the instruction after the one that stalled)."""
    import bisect
    import ctypes

    starts = sorted(spans)
    by_fn: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for ip, n in per_ip.items():
        j = bisect.bisect_right(starts, ip) - 1
        if j >= 0 and ip < starts[j] + spans[starts[j]]:
            by_fn[starts[j]][ip] += n
    total = sum(per_ip.values())
    for start in sorted(by_fn, key=lambda a: -sum(by_fn[a].values()))[:3]:
        counts = by_fn[start]
        code = ctypes.string_at(start, spans[start])
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(code)
            f.flush()
            dis = subprocess.run(["objdump", "-D", "-b", "binary", "-m", "i386:x86-64", "--no-show-raw-insn",
                                  f"--adjust-vma={start:#x}", f.name], capture_output=True, text=True).stdout
        lines = [(int(m.group(1), 16), m.group(2)) for m in re.finditer(r"^\s*([0-9a-f]+):\s*(.*)$", dis, re.M)]
        index = {a: j for j, (a, _) in enumerate(lines)}
        fn_total = sum(counts.values())
        print(f"\n{short_name(functions[start], calls)}: {100 * fn_total / total:.1f}% of samples")
        for ip, n in counts.most_common(top):
            j = index.get(ip)
            print(f"  -- {100 * n / fn_total:5.2f}% at +{ip - start:#x}")
            for a, text in lines[max(0, (j or 0) - 8):(j or 0) + 1] if j is not None else []:
                print(f"     {counts.get(a, 0):5d}  +{a - start:#06x}  {text}")


if __name__ == "__main__":
    main()
