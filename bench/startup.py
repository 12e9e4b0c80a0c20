"""Start-up time of the ``lmam`` command, idle and busy.

Each command is run as a fresh process, the commands taking turns round by
round (side by side), first with nothing else started by the benchmark, then
with ``--busy`` CPU-bound processes (``python -c "while True: pass"``) running.
Beside ``lmam --version`` and ``lmam --help``: ``lmam train --help`` (its
options come from the training code, so it loads torch), and importing every
command module at once, which is what each command cost when the command line
imported everything up front. The table gives the median wall seconds.

    python -m bench.startup [--rounds 7] [--busy 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from bench.common import busy_loops, environment, print_table, write_json

EVERY_COMMAND = (
    "import lmam.cli, lmam.cli.train, lmam.cli.data, lmam.cli.features, "
    "lmam.cli.experiments, lmam.cli.runs, lmam.cli.reproduce, "
    "lmam.cli.session, lmam.cli.humour"
)
COMMANDS = {
    "python (nothing)": [sys.executable, "-c", "pass"],
    "lmam --version": [sys.executable, "-m", "lmam", "--version"],
    "lmam --help": [sys.executable, "-m", "lmam", "--help"],
    "lmam train --help": [sys.executable, "-m", "lmam", "train", "--help"],
    "every command imported (as before)": [sys.executable, "-c", EVERY_COMMAND],
}


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():  # a first, unmeasured run fills the file cache
        seconds(argv)
    for _ in range(rounds):
        for name, argv in COMMANDS.items():
            times[name].append(seconds(argv))
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--busy", type=int, default=2)
    args = parser.parse_args()
    conditions = {"idle": measure(args.rounds)}
    with busy_loops(args.busy, settle=1.0):
        conditions[f"{args.busy} busy loops"] = measure(args.rounds)
    rows, out = [], []
    for condition, medians in conditions.items():
        before = medians["every command imported (as before)"]
        for name, value in medians.items():
            rows.append([condition, name, value, value / before])
            out.append({"condition": condition, "command": name, "seconds": value})
    print_table(
        f"wall seconds of a fresh process, median of {args.rounds}",
        ["condition", "command", "seconds", "÷ every command imported"],
        rows,
    )
    path = write_json(
        "startup",
        {"environment": environment(), "rounds": args.rounds, "busy": args.busy, "rows": out},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
