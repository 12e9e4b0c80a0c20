"""What lmam keeps in its caches, and clearing them (``lmam cache``).

Two folders: the feature cache (``$LMAM_CACHE`` or ``~/.cache/lmam``) holds
text features (``NAME-KEY.npz``), fine-tuned encoders
(``encoder-NAME-KEY.safetensors``) and extracted encoders (``encoders/``); the
audio cache (``$LMAM_AUDIO_CACHE`` or ``~/.cache/lmam/audio``) holds openSMILE
features per feature set. Only these entries are ever listed or removed: a
cache folder shared with other files keeps them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from lmam.features.audio import audio_cache_dir
from lmam.features.text import cache_dir

KINDS = ("text", "encoders", "audio")


@dataclass
class CacheEntry:
    """One entry of a cache: a file or a folder, its kind, its size."""

    kind: str
    path: Path
    files: int
    bytes: int


def _size(path: Path) -> tuple[int, int]:
    if path.is_file():
        return 1, path.stat().st_size
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def cache_entries(
    cache: str | Path | None = None, audio_cache: str | Path | None = None
) -> list[CacheEntry]:
    """Every entry lmam made in its caches, by kind then path."""
    found: list[tuple[str, Path]] = []
    root = cache_dir(cache)
    if root.is_dir():
        found += [("text", p) for p in sorted(root.glob("*.npz")) if p.is_file()]
        found += [("encoders", p) for p in sorted(root.glob("encoder-*.safetensors"))]
        if (root / "encoders").is_dir():
            found.append(("encoders", root / "encoders"))
    audio = audio_cache_dir(audio_cache)
    if audio.is_dir():
        found += [("audio", p) for p in sorted(audio.iterdir()) if p.is_dir()]
    return [CacheEntry(kind, path, *_size(path)) for kind, path in found]


def clear_cache(entries: list[CacheEntry]) -> int:
    """Remove ``entries``; returns the bytes freed."""
    freed = 0
    for e in entries:
        if e.path.is_dir():
            shutil.rmtree(e.path)
        elif e.path.exists():
            e.path.unlink()
        freed += e.bytes
    return freed
