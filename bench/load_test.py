"""Load test: simulated staff on GovChat (one process on SQLite, the worker layout, or both), driven by Locust.

For each layout it starts GovChat with `govchat run` in a fresh data directory (Bot-GovChat off, bcrypt_rounds 4, the
test suite's relaxed client rate limits, since every simulated person comes from one address), registers --users
staff and an INFO owner, gives everyone a direct room with each neighbour and a group room of 8 (all end-to-end
encrypted), then runs Locust in this process (bench/load_users.py: password login, a /sync long-poll loop, Megolm-
shaped messages, read receipts, INFO history, GCMeet tokens, owner posts to INFO; weights in docs/load-test.md).

After a warm-up it steps the offered message rate (--rates, messages per second for all staff together, Poisson
arrivals per person), each step --duration seconds, and stops at the first step where a send's p99 reaches 500 ms,
any request fails or less than 90 % of the offered rate was sent. It prints, per layout, the last sustained step,
every step, each kind of request, and where the time went: CPU seconds per process from /proc and Synapse's metrics
per process (servlets, database transactions, background processes) scraped before and after each step.

    .venv/bin/python -m bench.load_test --layout single|workers|both [--users N] [--duration S] [--rates 2,4,8] [--keep]

Needs the `load` extra: pip install -e '.[load]'. Bounded: loopback only, at most --users + 1 simulated users, at most
len(--rates) steps of --duration seconds each, every request and wait with a deadline; the server is stopped whatever
happens and the data directory removed unless --keep is given or the run fails (then it is kept for its logs).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from bench.load_steps import parse_rates

INSTALL_HINT = "The load test needs Locust: pip install -e '.[load]'"
DEFAULT_RATES = "0.5,1,2,3,4,6,8,12,16,20,25,30"
MAX_USERS = 200
MAX_DURATION_SECONDS = 600


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layout", choices=("single", "workers", "both"), default="both")
    parser.add_argument("--users", type=int, default=40, help=f"simulated staff, at most {MAX_USERS} (plus one INFO owner)")
    parser.add_argument("--duration", type=float, default=60, help=f"seconds per step, at most {MAX_DURATION_SECONDS}")
    parser.add_argument("--rates", default=DEFAULT_RATES, help="offered messages per second, one step each, increasing")
    parser.add_argument("--keep", action="store_true", help="keep the data directories (logs) and PostgreSQL clusters")
    parsed = parser.parse_args()
    if not 2 <= parsed.users <= MAX_USERS:
        parser.error(f"--users must be between 2 and {MAX_USERS}")
    if not 5 <= parsed.duration <= MAX_DURATION_SECONDS:
        parser.error(f"--duration must be between 5 and {MAX_DURATION_SECONDS} seconds")
    try:
        parsed.rates = parse_rates(parsed.rates)
    except ValueError as error:
        parser.error(str(error))
    return parsed


def clean_up(paths: list[Path], keep: bool) -> None:
    """The data directory and any PostgreSQL cluster GovChat kept outside it (as root), removed unless kept."""
    if keep:
        print("kept " + " ".join(str(path) for path in paths), flush=True)
        return
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    options = arguments()
    if importlib.util.find_spec("locust") is None:
        print(INSTALL_HINT, file=sys.stderr)
        sys.exit(2)
    # Locust patches the standard library with gevent when imported: before the bench's own imports.
    from bench import load_run
    from bench.scale_out_bench import outside_cluster
    from tests import harness

    if harness.LAYOUT != "single":
        sys.exit("unset GOVCHAT_TEST_LAYOUT: the load test chooses each layout itself")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    layouts = ["single", "workers"] if options.layout == "both" else [options.layout]
    scratch = Path(tempfile.mkdtemp(prefix="govchat-load-test-"))
    print(f"data directories under {scratch}", flush=True)
    runs, leftovers, keep = [], [scratch], options.keep
    try:
        for key in layouts:
            test = load_run.LoadTest(load_run.SPECS[key], scratch / key, options.users, options.rates, options.duration)
            print(f"{test.spec.label}: starting", flush=True)
            try:
                runs.append(test.run())
            finally:
                leftovers += [cluster for cluster in [outside_cluster(test.server.data_dir)] if cluster is not None]
    except Exception:
        keep = True  # the logs say what went wrong
        raise
    finally:
        clean_up(leftovers, keep)
    load_run.print_report(runs, options.duration)


if __name__ == "__main__":
    main()
