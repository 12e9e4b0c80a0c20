"""Audio features with openSMILE (the extra ``audio``): one vector per utterance.

Each utterance's audio (a whole file, or its ``start`` / ``end`` segment) goes
through an openSMILE feature set at the functionals level (e.g. eGeMAPSv02,
88 features; IS12, the paper's, 6125). Results are cached one ``.npy`` per
utterance under :func:`audio_cache_dir`, keyed by a sha256 of the audio file's
bytes, the segment, the feature set and the openSMILE version: moving or
renaming a file keeps its entry, editing it does not. Utterances missing from
the cache are processed in parallel by ``processes`` worker processes.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from lmam.data.conversation_files import (
    MAX_PROBLEMS,
    ConversationFile,
    ConversationFileError,
    Utterance,
    line_problem,
)
from lmam.data.errors import DataError
from lmam.errors import OptionError
from lmam.outputs import atomic_write

FEATURE_SETS = (
    "eGeMAPSv02",
    "GeMAPSv01b",
    "ComParE_2016",
    "IS09",
    "IS10",
    "IS11",
    "IS12",
    "IS13",
    "emobase",
)
"""The openSMILE feature sets offered (functionals; the deprecated ones left out)."""
LEVEL = "functionals"
INSTALL = "pip install 'lmam[audio]'"


def audio_cache_dir(override: str | Path | None = None) -> Path:
    """``override``, ``$LMAM_AUDIO_CACHE``, or ``~/.cache/lmam/audio``."""
    if override is not None:
        return Path(override)
    env = os.environ.get("LMAM_AUDIO_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "lmam" / "audio"


def opensmile_version() -> str:
    """The installed openSMILE package's version (an ``ImportError`` saying how to install)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        import opensmile  # noqa: F401
    except ImportError as e:
        raise ImportError(
            f"audio features need the extra 'audio' (opensmile): {INSTALL}  [{e}]"
        ) from None
    try:
        return version("opensmile")
    except PackageNotFoundError:  # pragma: no cover - imported but not installed?
        return "unknown"


def check_feature_set(name: str) -> str:
    """``name`` if offered, else an ``OptionError`` listing the sets."""
    if name not in FEATURE_SETS:
        from lmam.options import closest

        raise OptionError(
            f"--set: unknown openSMILE feature set {name!r}{closest(name, list(FEATURE_SETS))}; "
            f"choose one of {', '.join(FEATURE_SETS)}"
        )
    return name


@dataclass
class AudioFeatures:
    """Features of every utterance of a conversation file, in file order.

    Attributes:
        x: ``(N, D)`` float32.
        names: the ``D`` feature names.
        feature_set: the openSMILE set.
        audio_seconds: seconds of audio processed (cache hits included).
        wall_seconds: wall time of the extraction.
        cached: how many utterances came from the cache.
    """

    x: np.ndarray
    names: list[str]
    feature_set: str
    audio_seconds: float
    wall_seconds: float
    cached: int

    @property
    def seconds_per_audio_second(self) -> float:
        return self.wall_seconds / max(self.audio_seconds, 1e-9)

    def provenance(self) -> dict[str, str]:
        """What a dataset (and a run trained on it) records of this pipeline."""
        return {
            "pipeline.audio.extractor": "opensmile",
            "pipeline.audio.set": self.feature_set,
            "pipeline.audio.level": LEVEL,
            "pipeline.audio.opensmile": opensmile_version(),
            "audio": f"openSMILE {self.feature_set} {LEVEL} ({len(self.names)} features)",
        }


@dataclass(frozen=True)
class _Job:
    index: int
    file: str
    start: float | None
    end: float | None
    key: str


def extract_audio(
    conversations: ConversationFile,
    feature_set: str = "eGeMAPSv02",
    *,
    processes: int = 1,
    cache: str | Path | None = None,
    progress: bool = True,
) -> AudioFeatures:
    """openSMILE features of every utterance of ``conversations`` (its ``audio`` column).

    Raises:
        DataError: the file has no audio column, or an utterance's audio
            cannot be processed (naming the line and the column).
        OptionError: an unknown feature set or a bad ``processes``.
        ImportError: the extra ``audio`` is missing.
    """
    check_feature_set(feature_set)
    if processes < 1:
        raise OptionError(f"--processes must be a positive integer, got {processes}")
    version = opensmile_version()
    if not conversations.has_audio:
        raise DataError(
            "no audio column: audio features need one", file=conversations.path, field="audio"
        )
    utterances = conversations.utterances
    directory = audio_cache_dir(cache) / feature_set
    digests: dict[Path, str] = {}
    jobs: list[_Job] = []
    rows: list[np.ndarray] = [np.zeros(0, np.float32)] * len(utterances)
    seconds = 0.0
    names: list[str] | None = None
    started = time.perf_counter()
    for i, u in enumerate(utterances):
        assert u.audio is not None
        if u.audio not in digests:
            digests[u.audio] = _file_digest(u.audio, conversations, u)
        key = hashlib.sha256(
            f"{digests[u.audio]}\0{u.start}\0{u.end}\0{feature_set}\0{version}".encode()
        ).hexdigest()
        hit = _cache_read(directory / f"{key}.npz")
        if hit is None:
            jobs.append(_Job(i, str(u.audio), u.start, u.end, key))
            continue
        rows[i], duration, names = hit
        seconds += duration
    cached = len(utterances) - len(jobs)
    problems: list[str] = []
    with _bar(progress, f"openSMILE {feature_set}", len(utterances)) as (bar, task):
        bar.advance(task, cached)
        for job, result in _run(jobs, feature_set, processes):
            features, duration, problem, found = result
            bar.advance(task, 1)
            if problem is not None:
                line = utterances[job.index].line
                problems.append(
                    line_problem(
                        conversations.path, line, "audio", f"{Path(job.file).name}: {problem}"
                    )
                )
                continue
            rows[job.index], names = features, found
            seconds += duration
            _cache_write(directory / f"{job.key}.npz", features, duration, found)
    if problems:
        raise ConversationFileError(conversations.path, problems[:MAX_PROBLEMS], len(problems))
    x = np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), np.float32)
    return AudioFeatures(
        x, list(names or []), feature_set, seconds, time.perf_counter() - started, cached
    )


def _file_digest(path: Path, conversations: ConversationFile, u: Utterance) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        problem = line_problem(conversations.path, u.line, "audio", f"{path.name}: {e.strerror}")
        raise ConversationFileError(conversations.path, [problem], 1) from None
    return h.hexdigest()


def _cache_read(path: Path) -> tuple[np.ndarray, float, list[str]] | None:
    """A cached entry, or ``None`` when absent or unreadable (then it is rebuilt)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return z["x"].astype(np.float32), float(z["seconds"]), [str(n) for n in z["names"]]
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _cache_write(path: Path, x: np.ndarray, seconds: float, names: list[str]) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, x=x, seconds=np.float64(seconds), names=np.array(names, dtype=str))

    atomic_write(path, write)


class _bar:
    """A rich progress bar (or nothing) as a context manager yielding ``(progress, task)``."""

    def __init__(self, enabled: bool, description: str, total: int) -> None:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self.progress = Progress(*columns, disable=not enabled)
        self.description, self.total = description, total

    def __enter__(self) -> tuple[Progress, Any]:
        self.progress.__enter__()
        return self.progress, self.progress.add_task(self.description, total=self.total)

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


Result = tuple[np.ndarray, float, str | None, list[str]]


def _run(jobs: list[_Job], feature_set: str, processes: int) -> Iterator[tuple[_Job, Result]]:
    """``(job, result)`` for every job, in order; in worker processes when ``processes > 1``."""
    if not jobs:
        return
    if processes == 1 or len(jobs) == 1:
        _init_worker(feature_set)
        for job in jobs:
            yield job, _work(job)
        return
    # fork: a worker runs openSMILE only (never torch), and starts in milliseconds
    # where spawn would spend seconds re-importing lmam and torch
    context = get_context("fork" if "fork" in get_all_start_methods() else "spawn")
    workers = min(processes, len(jobs))
    with ProcessPoolExecutor(workers, context, _init_worker, (feature_set,)) as pool:
        yield from zip(jobs, pool.map(_work, jobs, chunksize=max(1, len(jobs) // (8 * workers))))


_SMILE: Any = None


def _init_worker(feature_set: str) -> None:
    global _SMILE
    import opensmile

    _SMILE = opensmile.Smile(
        getattr(opensmile.FeatureSet, feature_set), opensmile.FeatureLevel.Functionals
    )


def _work(job: _Job) -> Result:
    """One utterance's features: ``(x, seconds, problem or None, names)``."""
    import audiofile

    empty = np.zeros(0, np.float32)
    try:
        duration = float(audiofile.duration(job.file))
    except Exception as e:  # soundfile's errors are RuntimeErrors of several kinds
        return empty, 0.0, f"not a readable audio file ({_short(e)})", []
    start, end = job.start or 0.0, job.end if job.end is not None else duration
    if start >= duration:
        return empty, 0.0, f"starts at {start} s, but the file lasts {duration:.3f} s", []
    if end > duration + 0.01:
        return empty, 0.0, f"ends at {end} s, but the file lasts {duration:.3f} s", []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            frame = _SMILE.process_file(job.file, start=job.start, end=job.end)
        except Exception as e:
            return empty, 0.0, f"openSMILE failed ({_short(e)})", []
    x = np.asarray(frame.values[0], dtype=np.float32)
    if not np.isfinite(x).all():
        return empty, 0.0, f"too short for openSMILE ({end - start:.3f} s)", []
    return x, end - start, None, [str(c) for c in frame.columns]


def _short(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__
