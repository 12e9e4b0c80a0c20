import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lmam.experiments.compare import select_by_test
from lmam.experiments.grid import run_grid, summarise
from lmam.train import TrainConfig
from lmam.train.engine import TEST_SELECTION_LABEL
from tests.experiments.configs import TINY

BASE = TINY


def test_grid_runs_every_variant_and_seed_then_reuses_them(tmp_path):
    variants = {"concat": {"fusion": "concat"}, "lmam": {"fusion": "lmam", "embed": "late"}}
    results = run_grid(BASE, variants, [0, 1], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "concat-s0",
        "concat-s1",
        "lmam-s0",
        "lmam-s1",
    ]
    stamp = (tmp_path / "lmam-s1" / "summary.json").stat().st_mtime_ns
    again = run_grid(BASE, variants, [0, 1], tmp_path)
    assert (tmp_path / "lmam-s1" / "summary.json").stat().st_mtime_ns == stamp
    assert again["lmam"][1]["test"] == results["lmam"][1]["test"]
    rows = summarise(results, ["accuracy"])
    accs = [r["test"]["accuracy"] for r in results["concat"]]
    assert rows[0]["accuracy"] == (np.mean(accs), np.std(accs, ddof=1))
    valid = [r["valid"]["accuracy"] for r in results["concat"]]
    assert rows[0]["valid"]["accuracy"] == (np.mean(valid), np.std(valid, ddof=1))
    assert rows[1]["parameters"] == results["lmam"][0]["parameters"]


def test_retrain_trains_one_backbones_runs_again_and_reuses_the_others(tmp_path):
    from lmam.experiments.records import read_record

    tiny_cnn = {"filters": 2, "widths": [3], "dense": 4}
    variants = {
        "bclstm": {"backbone": "bclstm"},
        "textcnn": {"backbone": "textcnn", "model_options": tiny_cnn},
    }
    records = tmp_path / "records"
    run_grid(BASE, variants, [0], tmp_path / "runs", records=records)
    stamps = {
        n: (tmp_path / "runs" / f"{n}-s0" / "summary.json").stat().st_mtime_ns for n in variants
    }
    again = run_grid(BASE, variants, [0], tmp_path / "runs", records=records, retrain={"textcnn"})
    assert [again[n][0]["reused"] for n in variants] == [True, False]
    after = {
        n: (tmp_path / "runs" / f"{n}-s0" / "summary.json").stat().st_mtime_ns for n in variants
    }
    assert after["bclstm"] == stamps["bclstm"] and after["textcnn"] != stamps["textcnn"]
    # the record now holds the retrained run's summary
    assert read_record(records / "textcnn-s0")["summary"]["test"] == again["textcnn"][0]["test"]


def test_test_selection_reads_the_best_test_epoch(tmp_path):
    results = run_grid(BASE, {"concat": {}}, [0], tmp_path)
    picked = select_by_test(results["concat"], "weighted_f1")[0]
    history = json.loads((tmp_path / "concat-s0" / "metrics.json").read_text())["history"]
    assert picked["test"]["weighted_f1"] == max(h["test"]["weighted_f1"] for h in history)
    assert picked["selection"] == TEST_SELECTION_LABEL


def test_a_run_whose_trainer_filled_in_the_speaker_count_is_reused(tmp_path):
    import dataclasses

    from lmam.experiments.grid import _reuse
    from lmam.train.build import portable

    base = portable(TrainConfig(dataset="synthetic", backbone="dialoguegcn", out_dir=str(tmp_path)))
    run = tmp_path / "r"
    run.mkdir()
    filled = dataclasses.replace(base, model_options={"num_speakers": 3})
    filled.dump(run / "config.yaml")
    (run / "summary.json").write_text("{}")
    assert _reuse(run, base) is None
    other = dataclasses.replace(base, model_options={"num_speakers": 5})
    assert _reuse(run, other) == " (the earlier run had other settings)"


def test_parallel_runs_equal_sequential_ones(tmp_path):
    variants = {"concat": {"fusion": "concat"}, "lmam": {"fusion": "lmam", "embed": "late"}}
    one = run_grid(BASE, variants, [0, 1], tmp_path / "one", jobs=1)
    two = run_grid(BASE, variants, [0, 1], tmp_path / "two", jobs=2)
    for name in variants:
        assert [r["test"] for r in one[name]] == [r["test"] for r in two[name]]
        assert [Path(r["run_dir"]).name for r in two[name]] == [f"{name}-s0", f"{name}-s1"]


def test_an_interrupted_run_continues_where_it_stopped(tmp_path):
    import dataclasses

    full = run_grid(BASE, {"concat": {}}, [0], tmp_path / "full")["concat"][0]
    # an interrupted run: one of its two epochs done, no summary
    short = dataclasses.replace(BASE, epochs=1)
    run_grid(short, {"concat": {}}, [0], tmp_path / "cut")
    run = tmp_path / "cut" / "concat-s0"
    first = json.loads((run / "metrics.json").read_text())["history"][0]
    (run / "summary.json").unlink()
    from lmam.train.build import portable

    cfg = portable(
        dataclasses.replace(BASE, seed=0, out_dir=str(tmp_path / "cut"), name="concat-s0")
    )
    cfg.dump(run / "config.yaml")
    again = run_grid(BASE, {"concat": {}}, [0], tmp_path / "cut")["concat"][0]
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[0] == first  # epoch 1 was not trained again
    assert again["test"] == full["test"]  # and the result is that of an uninterrupted run


def test_jobs_must_be_positive(tmp_path):
    import pytest

    from lmam.errors import OptionError

    with pytest.raises(OptionError, match="jobs 0"):
        run_grid(BASE, {"concat": {}}, [0], tmp_path, jobs=0)


def _grid_in_a_process(out_dir: str) -> list[bool]:
    results = run_grid(BASE, {"concat": {}, "lmam": {"fusion": "lmam"}}, [0, 1], Path(out_dir))
    return [r["reused"] for runs in results.values() for r in runs]


def test_two_grids_at_once_train_each_run_once(tmp_path):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        a, b = pool.map(_grid_in_a_process, [str(tmp_path)] * 2)
    trained = [not x for x in a] + [not y for y in b]
    assert sum(trained) == 4  # 4 runs, each trained by exactly one of the two grids
    assert not list(tmp_path.glob(".*.lock"))
    for run in tmp_path.iterdir():
        history = json.loads((run / "metrics.json").read_text())["history"]
        assert [h["epoch"] for h in history] == [1, 2]


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    import socket
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / ".concat-s0.lock").write_text(f"{dead.pid} {socket.gethostname()}\n")
    results = run_grid(BASE, {"concat": {}}, [0], tmp_path)
    assert not results["concat"][0]["reused"]
    assert not (tmp_path / ".concat-s0.lock").exists()


def test_a_live_lock_is_waited_for(tmp_path):
    import os
    import socket
    import threading

    from lmam.experiments.locks import run_lock

    lock = tmp_path / ".concat-s0.lock"
    lock.write_text(f"{os.getpid()} {socket.gethostname()}\n")
    threading.Timer(1.0, lock.unlink).start()
    import time

    start = time.perf_counter()
    with run_lock(tmp_path / "concat-s0", poll=0.1):
        assert lock.read_text().split()[0] == str(os.getpid())
    assert time.perf_counter() - start >= 0.9 and not lock.exists()


PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from lmam.experiments.grid import worker_pool

def sleep(ready):
    Path(ready).write_text(str(os.getpid()))
    time.sleep(120)

if __name__ == "__main__":
    watched = sys.argv[2] == "1"  # the pool every training grid uses, or a plain one
    ctx = multiprocessing.get_context("spawn")
    pool = worker_pool(1) if watched else ProcessPoolExecutor(1, ctx)
    pool.submit(sleep, sys.argv[1])
    time.sleep(120)
"""


def running(pid):
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_exit_when_the_grid_is_killed(tmp_path):
    """A killed grid (or table, or equal-budget study) leaves no worker training on: spawned
    workers outlive a SIGKILLed parent unless made by :func:`worker_pool`."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    for watch, survives in (("0", True), ("1", False)):
        ready = tmp_path / f"ready{watch}"
        args = [sys.executable, str(script), str(ready), watch]
        parent = subprocess.Popen(args)
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists() and ready.read_text(), "the worker did not start within 60 s"
        child = int(ready.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while running(child) and not survives and time.monotonic() < deadline:
            time.sleep(0.1)
        alive = running(child)
        if alive:
            os.kill(child, signal.SIGKILL)
        assert alive is survives
