"""`make bench`: run every benchmark module, one after the other, in its own process.

Each `benchmarks/bench_*.py` prints ratio lines (`figure vs baseline = N.NNx`); with
`--json FILE` each is asked for `--json` and the results are gathered into one file, for
comparisons across commits.
"""
from __future__ import annotations

import argparse
import json
import pkgutil
import subprocess
import sys
from pathlib import Path


def bench_modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def run(module: str, as_json: bool) -> tuple[int, object]:
    cmd = [sys.executable, "-m", f"benchmarks.{module}"] + (["--json"] if as_json else [])
    if not as_json:
        return subprocess.call(cmd), None
    done = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(done.stderr)
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        return done.returncode or 1, {"error": "no JSON output", "stdout": done.stdout[-2000:]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--json", metavar="FILE", help="also write every result to FILE")
    parser.add_argument("only", nargs="*", help="run only these bench_* modules")
    args = parser.parse_args(argv)
    results: dict[str, object] = {}
    failed = []
    for module in bench_modules():
        if args.only and module not in args.only and module.removeprefix("bench_") not in args.only:
            continue
        print(f"== {module}", flush=True)
        code, result = run(module, bool(args.json))
        if args.json:
            results[module] = result
            print(json.dumps(result, indent=2))
        if code:
            failed.append(module)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
