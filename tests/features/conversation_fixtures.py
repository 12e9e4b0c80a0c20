"""Conversation files written by tests: transcripts and WAV audio generated in Python.

Each utterance's audio is a tone (with a little noise) whose pitch and loudness
follow its label, and its text names the feeling, so a model can learn the
labels from either modality.
"""

from __future__ import annotations

import csv
import wave
from pathlib import Path

import numpy as np

RATE = 16000
LABELS = ("calm", "excited")
TEXTS = {
    "calm": ["that is fine, thank you", "all good here", "let us relax a little"],
    "excited": ["wow, that is amazing!", "I cannot believe it, fantastic!", "yes! we won!"],
}


def write_wav(path: Path, signal: np.ndarray, rate: int = RATE) -> Path:
    """Mono 16-bit PCM with the stdlib ``wave`` module (``signal`` in [-1, 1])."""
    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def tone(label: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A voiced-like sound: harmonics of a label-dependent pitch, amplitude-modulated."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = (120.0 if label == "calm" else 260.0) * rng.uniform(0.95, 1.05)
    loud = 0.2 if label == "calm" else 0.6
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)
    return loud * envelope * x / 2 + 0.01 * rng.normal(size=t.size)


def write_conversations(
    directory: Path,
    dialogues: int = 6,
    turns: int = 4,
    seed: int = 0,
    audio: bool = True,
    segments: bool = False,
    name: str = "talk.csv",
) -> Path:
    """A CSV conversation file with its WAVs under ``directory/wav``.

    Dialogues are split train / valid / test as 4:1:1 (for 6). With
    ``segments``, each dialogue's utterances share one WAV file, cut by
    ``start`` / ``end``.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(dialogues):
        split = "train" if d < dialogues - 2 else ("valid" if d == dialogues - 2 else "test")
        pieces, offset = [], 0.0
        for k in range(turns):
            label = LABELS[int(rng.integers(0, len(LABELS)))]
            row = {
                "dialogue": f"d{d}",
                "turn": k,
                "speaker": "AB"[k % 2],
                "text": TEXTS[label][int(rng.integers(0, 3))],
                "label": label,
                "split": split,
            }
            seconds = float(rng.uniform(0.6, 1.2))
            sound = tone(label, seconds, rng)
            if audio and segments:
                pieces.append(sound)
                row.update(
                    audio=f"wav/d{d}.wav", start=f"{offset:.4f}", end=f"{offset + seconds:.4f}"
                )
                offset += sound.size / RATE
            elif audio:
                write_wav(directory / "wav" / f"d{d}_{k}.wav", sound)
                row["audio"] = f"wav/d{d}_{k}.wav"
            rows.append(row)
        if audio and segments:
            write_wav(directory / "wav" / f"d{d}.wav", np.concatenate(pieces))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    columns = ["dialogue", "turn", "speaker", "text", "label", "split"]
    if audio:
        columns += ["audio", "start", "end"] if segments else ["audio"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, columns)
        w.writeheader()
        w.writerows(rows)
    return path
