"""`make soak`: the gateway killed with SIGKILL 100 times under load, on SQLite (WAL) and on
PostgreSQL, then checked: nothing a client was told was stored is lost, every SyncKey a
client holds is accepted, no access state went back, no notice was doubled.

    python scripts/soak.py [--kills 100] [--engine sqlite|postgres|both] [--seed 1]
                           [--outlook 4] [--third-party 6]

The harness is tests/crash/harness.py (the test suite runs it with 20 kills per engine).
Prints progress every ten kills and one summary line per engine; exits 1 on any problem.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "crash"))

import harness  # noqa: E402


async def soak(engines: list[str], args: argparse.Namespace) -> int:
    reports = []
    for engine in engines:
        print(f"{engine}: {args.kills} kills", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"easgate-soak-{engine}-") as directory:
            report = await harness.run(
                engine, Path(directory), kills=args.kills, seed=args.seed,
                outlook_devices=args.outlook, third_party_devices=args.third_party,
                log=lambda line: print(line, flush=True))
        reports.append(report)
        print(report.summary(), flush=True)
        for problem in report.problems:
            print(f"  problem: {problem}")
    print("\n" + "\n".join(r.summary() for r in reports))
    return 1 if any(r.problems or r.lost for r in reports) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/soak.py", description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--outlook", type=int, default=4, help="Outlook devices adding data")
    parser.add_argument("--third-party", type=int, default=6,
                        help="third-party devices quarantined at first contact")
    args = parser.parse_args(argv)
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    return asyncio.run(soak(engines, args))


if __name__ == "__main__":
    sys.exit(main())
