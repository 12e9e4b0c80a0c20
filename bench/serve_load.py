"""``lmam serve`` under load and faults, on 127.0.0.1 only.

Starts ``lmam serve`` on a copy of a run (default ``runs/tutorial``, made by the
tutorial of docs/raw-conversations.md) and drives it with an asyncio client (httpx):

1. load: ``--sessions`` concurrent sessions of ``--utterances`` utterances each (HTTP
   session endpoints), and ``--batches`` whole-conversation requests at the same time;
   latency of every request (p50, p99), throughput, errors (goal: none);
2. the server's resident memory (``/proc/PID/status``): cold (after one short
   request), warm (after one session and one request of the load's size: what any
   served model keeps once it has run), and at the peak of each of ``--rounds``
   rounds of the load and after it, its sessions closed or expired (goal: back to
   the warm baseline, and no growth from one round to the next);
3. faults: malformed JSON, an oversized body, a slow client (its body sent in pieces
   over seconds), an unknown session, sessions abandoned mid-dialogue (they expire),
   and the run's folder removed while serving; after each, the server must still
   answer, and every acknowledged utterance must be in its session (each session's
   last answer counts them).

Writes ``bench/results/serve_load.json``.

    python -m bench.serve_load [--run runs/tutorial] [--sessions 50] [--utterances 100]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import environment, print_table, write_json

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "conversations.csv"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def texts() -> list[tuple[str, str]]:
    with open(EXAMPLES, newline="") as f:
        return [(r["speaker"], r["text"]) for r in csv.DictReader(f)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def session_load(
    client: httpx.AsyncClient,
    lines: list[tuple[str, str]],
    n: int,
    latencies: list[float],
    errors: list[str],
    abandon: bool,
) -> int:
    r = await client.post("/v1/sessions")
    if r.status_code != 201:
        errors.append(f"open: {r.status_code} {r.text[:100]}")
        return 0
    sid = r.json()["id"]
    acknowledged = 0
    for k in range(n):
        speaker, text = lines[k % len(lines)]
        start = time.perf_counter()
        r = await client.post(
            f"/v1/sessions/{sid}/utterances", json={"speaker": speaker, "text": text}
        )
        latencies.append(time.perf_counter() - start)
        if r.status_code != 200:
            errors.append(f"add: {r.status_code} {r.text[:100]}")
            continue
        acknowledged += 1
        if r.json()["utterances"] != acknowledged:
            errors.append(
                f"session {sid}: {r.json()['utterances']} utterances, {acknowledged} acknowledged"
            )
        if abandon and k == n // 2:
            return acknowledged  # a client that goes away mid-dialogue
    if (await client.delete(f"/v1/sessions/{sid}")).status_code != 204:
        errors.append("close failed")
    return acknowledged


async def batch_load(
    client: httpx.AsyncClient,
    lines: list[tuple[str, str]],
    count: int,
    latencies: list[float],
    errors: list[str],
) -> None:
    body = {"utterances": [{"speaker": s, "text": t} for s, t in lines[:40]]}
    for _ in range(count):
        start = time.perf_counter()
        r = await client.post("/v1/predict", json=body)
        latencies.append(time.perf_counter() - start)
        if r.status_code != 200:
            errors.append(f"predict: {r.status_code} {r.text[:100]}")


async def slow_client(port: int, seconds: float) -> str:
    """A body sent in pieces over ``seconds``; returns the status line."""
    body = json.dumps({"utterances": [{"speaker": "A", "text": "slowly, very slowly"}]}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    writer.write(head)
    pieces = [body[i : i + 8] for i in range(0, len(body), 8)]
    for piece in pieces:
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(seconds / len(pieces))
    status = (await reader.readline()).decode().strip()
    writer.close()
    return status


async def drive(args: argparse.Namespace, port: int, pid: int, run_copy: Path) -> dict[str, Any]:
    lines = texts()
    memory: list[tuple[float, float]] = []
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            memory.append((time.perf_counter(), rss_mib(pid)))
            await asyncio.sleep(0.5)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        await client.post("/v1/predict", json={"utterances": [{"speaker": "A", "text": "warm up"}]})
        cold = rss_mib(pid)
        # a warm-up of the same work, one of each, so that the baseline holds what any
        # served model keeps once it has run (kernels, caches), not what sessions hold
        await session_load(client, lines, args.utterances, [], [], False)
        await batch_load(client, lines, 1, [], [])
        await asyncio.sleep(1.0)
        warm = rss_mib(pid)
        sampler = asyncio.create_task(sample())
        session_latency: list[float] = []
        batch_latency: list[float] = []
        errors: list[str] = []
        abandoned = max(1, args.sessions // 10)
        rounds: list[dict[str, float]] = []
        acks: list[Any] = []
        load_seconds = 0.0
        for _ in range(args.rounds):
            memory.clear()
            start = time.perf_counter()
            acks += await asyncio.gather(
                *[
                    session_load(
                        client, lines, args.utterances, session_latency, errors, k < abandoned
                    )
                    for k in range(args.sessions)
                ],
                batch_load(client, lines, args.batches, batch_latency, errors),
            )
            load_seconds += time.perf_counter() - start
            peak = max(m for _, m in memory) if memory else rss_mib(pid)
            await asyncio.sleep(args.idle + 2)  # the abandoned sessions expire
            card = (await client.get("/v1/model")).json()
            rounds.append({"peak": peak, "after": rss_mib(pid), "open": card["sessions"]["open"]})
        faults: dict[str, str] = {}
        r = await client.post(
            "/v1/predict", content=b'{"utterances": [', headers={"content-type": "application/json"}
        )
        faults["malformed JSON"] = f"{r.status_code} {r.json()['error']}"
        r = await client.post(
            "/v1/predict", json={"utterances": [{"speaker": "A", "text": "x" * 2_000_000}]}
        )
        faults["oversized body (2 MB)"] = f"{r.status_code} {r.json()['error']}"
        faults["slow client (body over 3 s)"] = await slow_client(port, 3.0)
        r = await client.post("/v1/sessions/nope/utterances", json={"speaker": "A", "text": "hi"})
        faults["unknown session"] = f"{r.status_code} {r.json()['error']}"
        faults["abandoned sessions"] = (
            f"{abandoned} left mid-dialogue; open sessions after {args.idle + 2:.0f} s: "
            f"{rounds[-1]['open']}"
        )
        shutil.rmtree(run_copy)
        r = await client.post(
            "/v1/predict", json={"utterances": [{"speaker": "A", "text": "still there?"}]}
        )
        r2 = await client.get("/v1/model")
        faults["run folder removed while serving"] = (
            f"predict {r.status_code}, model card {r2.status_code} (the model is held in memory)"
        )
        stop.set()
        await sampler
    requests = len(session_latency) + len(batch_latency)
    return {
        "sessions": args.sessions,
        "utterances_per_session": args.utterances,
        "abandoned_sessions": abandoned,
        "acknowledged": sum(a for a in acks if isinstance(a, int)),
        "batch_requests": args.batches,
        "requests": requests,
        "load_seconds": load_seconds,
        "throughput_requests_per_second": requests / load_seconds,
        "session_add_p50_ms": 1000 * statistics.median(session_latency),
        "session_add_p99_ms": 1000 * percentile(session_latency, 0.99),
        "batch_p50_ms": 1000 * statistics.median(batch_latency) if batch_latency else None,
        "batch_p99_ms": 1000 * percentile(batch_latency, 0.99) if batch_latency else None,
        "errors": errors,
        "memory_mib": {"cold": cold, "warm": warm, "rounds": rounds},
        "faults": faults,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/tutorial")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--utterances", type=int, default=100)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--idle", type=float, default=10.0, help="the server's --session-idle")
    parser.add_argument("--rounds", type=int, default=2, help="the load, this many times")
    parser.add_argument("--out", default="serve_load")
    args = parser.parse_args()
    if not Path(args.run, "config.yaml").is_file():
        raise SystemExit(
            f"{args.run}: no run; make it with the tutorial of docs/raw-conversations.md"
        )
    with tempfile.TemporaryDirectory(prefix="lmam-serve-load-") as tmp:
        run_copy = Path(tmp) / "run"
        shutil.copytree(args.run, run_copy)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "lmam", "serve", str(run_copy), "--port", str(port),
             "--session-idle", str(args.idle), "--max-sessions", str(args.sessions + 10)],
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )  # fmt: skip
        try:
            for _ in range(300):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            result = asyncio.run(drive(args, port, server.pid, run_copy))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print_table(
        f"lmam serve on 127.0.0.1: {args.sessions} sessions x {args.utterances} utterances "
        f"+ {args.batches} batch requests",
        ["measure", "value"],
        [
            ["requests", result["requests"]],
            ["throughput (requests/s)", result["throughput_requests_per_second"]],
            [
                "session add p50 / p99 (ms)",
                f"{result['session_add_p50_ms']:.0f} / {result['session_add_p99_ms']:.0f}",
            ],
            [
                "batch (40 utterances) p50 / p99 (ms)",
                f"{result['batch_p50_ms']:.0f} / {result['batch_p99_ms']:.0f}",
            ],
            ["errors", len(result["errors"])],
            [
                "memory MiB: cold / warm baseline",
                f"{result['memory_mib']['cold']:.0f} / {result['memory_mib']['warm']:.0f}",
            ],
            *[
                [f"memory MiB, round {k}: peak / after", f"{r['peak']:.0f} / {r['after']:.0f}"]
                for k, r in enumerate(result["memory_mib"]["rounds"], 1)
            ],
        ],
    )
    print_table("faults", ["fault", "answer"], [[k, v] for k, v in result["faults"].items()])
    path = write_json(args.out, {"environment": environment(), **result})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
