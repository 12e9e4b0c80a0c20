"""The word-aligned HDF5 releases of the Memory Fusion Network work: POM, YouTube, MMMO.

Layout of ``<dir>`` (one HDF5 dataset per file, key ``d1``; ``data`` in the
CMU-MOSI label files): ``{audio,video}_{split}.h5`` ``(N, 20, D)``,
``text_{split}_emb.h5`` ``(N, 20, 300)`` where published, ``y_{split}.h5`` the
labels, for ``split`` in train, valid, test.

Each video is one sample, here a conversation of ONE utterance (``T = 1``) whose
feature for a modality is the mean of its 20 aligned steps, padding steps left
out (a padding step is all zeros in every modality kept; a video with no other
step gets zeros). The files carry no video ids: ids are ``<split>-<row>``.

Only the modalities present in every split are kept; the dataset's ``warning``
names the missing ones and says why, and counts the videos whose kept features
are all zero.

Labels: POM 17 speaker-trait scores (1..7) -> float32 ``(1, 17)``, regression;
YouTube 3-way one-hot -> class id (the release does not document the class
order); MMMO a 1..5 score -> float32 ``(1,)``, regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from lmam.data.dataset import SPLITS, Conversation, ConversationDataset, Task
from lmam.data.errors import DataError
from lmam.data.registry import register_dataset
from lmam.data.sources import default_data, file_sha256
from lmam.data.validate import validate_dataset

STEPS = 20
SOURCE = "pliang279/MFN (new_data/), MIT licence (LICENSE.MFN)"
# lmam modality name -> file name of a split's features.
FILES = {"text": "text_{split}_emb.h5", "audio": "audio_{split}.h5", "visual": "video_{split}.h5"}


@dataclass(frozen=True)
class Spec:
    """What one MFN dataset's labels look like."""

    title: str
    task: Task
    labels: str  # "vector" (N, K) floats, "onehot" (N, C), "scalar" (N,) floats
    label_names: tuple[str, ...] = ()


SPECS = {
    "pom": Spec("POM (persuasion opinion mining): 17 speaker traits, 1..7", "regression", "vector"),
    "youtube": Spec(
        "YouTube sentiment: 3 classes (order undocumented)",
        "classification",
        "onehot",
        ("class0", "class1", "class2"),
    ),
    "mmmo": Spec("MMMO (MOSI-like) sentiment score, 1..5", "regression", "scalar"),
}


def _h5py() -> ModuleType:
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "reading the MFN HDF5 files needs h5py: pip install 'lmam[hdf5]'"
        ) from None
    return h5py


def read_h5(path: Path) -> np.ndarray:
    """The one array of an MFN HDF5 file (key ``d1``, or ``data``)."""
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            keys = [k for k in ("d1", "data") if k in f]
            if not keys:
                raise DataError(f"no dataset 'd1' or 'data' (keys: {list(f)})", file=path)
            return np.asarray(f[keys[0]][()])
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError("missing file", file=path) from None
    except (OSError, TypeError, ValueError) as e:
        raise DataError(f"unreadable HDF5 file: {e}", file=path) from None


def _sequences(path: Path, modality: str) -> np.ndarray:
    """``(N, 20, D)`` float64 steps of one modality file."""
    x = read_h5(path)
    if x.ndim != 3 or x.shape[1] != STEPS or x.dtype.kind not in "iuf":
        raise DataError(
            f"want (N, {STEPS}, D) numbers, got {x.dtype}{x.shape}", file=path, field=modality
        )
    return x.astype(np.float64)


def mean_steps(steps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{m: (N, 20, D_m)}`` -> ``{m: (N, D_m)}`` float32 means over the non-padding steps."""
    real = np.zeros(next(iter(steps.values())).shape[:2], dtype=bool)
    for x in steps.values():
        real |= (x != 0).any(axis=2)
    count = np.maximum(real.sum(axis=1, keepdims=True), 1)
    return {
        m: ((x * real[:, :, None]).sum(axis=1) / count).astype(np.float32) for m, x in steps.items()
    }


def _labels(path: Path, spec: Spec, n: int) -> np.ndarray:
    """``(N, 1)`` int64 class ids, ``(N, 1)`` or ``(N, 1, K)`` float32 targets."""
    y = read_h5(path)
    want = {"vector": 2, "onehot": 2, "scalar": 1}[spec.labels]
    if y.ndim != want or y.shape[0] != n or y.dtype.kind not in "iuf":
        raise DataError(
            f"want {n} labels of {want} dimension(s), got {y.dtype}{y.shape}",
            file=path,
            field="labels",
        )
    if spec.labels != "onehot":
        return y.astype(np.float32)[:, None]
    bad = np.flatnonzero(~(((y == 0) | (y == 1)).all(axis=1) & (y.sum(axis=1) == 1)))
    if bad.size:
        raise DataError(
            f"row {int(bad[0])} is not one-hot: {y[bad[0]].tolist()}", file=path, field="labels"
        )
    return y.argmax(axis=1).astype(np.int64)[:, None]


def _missing(directory: Path) -> tuple[list[str], list[str]]:
    """The modalities present in every split, and a sentence for each missing one."""
    kept, notes = [], []
    for modality, pattern in FILES.items():
        present = [s for s in SPLITS if (directory / pattern.format(split=s)).is_file()]
        if len(present) == len(SPLITS):
            kept.append(modality)
        elif present:
            notes.append(
                f"{modality} is missing: the release has it only for {' and '.join(present)} "
                f"({', '.join(pattern.format(split=s) for s in present)}), not for "
                f"{' and '.join(s for s in SPLITS if s not in present)}, so it is left out"
            )
        else:
            notes.append(f"{modality} is missing: the release has no {modality} features")
    return kept, notes


def _split(
    directory: Path, split: str, kept: list[str], spec: Spec
) -> tuple[list[Conversation], dict[str, int]]:
    """The videos of one split, and the width of each kept modality."""
    steps = {m: _sequences(directory / FILES[m].format(split=split), m) for m in kept}
    n = len(next(iter(steps.values())))
    for m, x in steps.items():
        if len(x) != n:
            raise DataError(
                f"{len(x)} videos, but {kept[0]} has {n}",
                file=directory / FILES[m].format(split=split),
                field=m,
            )
    feats = mean_steps(steps)
    labels = _labels(directory / f"y_{split}.h5", spec, n)
    convs = [
        Conversation(
            id=f"{split}-{i:04d}",
            feats={m: x[i : i + 1] for m, x in feats.items()},
            speakers=np.zeros(1, dtype=np.int64),
            labels=labels[i],
        )
        for i in range(n)
    ]
    return convs, {m: int(x.shape[1]) for m, x in feats.items()}


def _provenance(directory: Path, kept: list[str], spec: Spec) -> dict[str, str]:
    files = sorted(
        p.format(split=s) for p in [*(FILES[m] for m in kept), "y_{split}.h5"] for s in SPLITS
    )
    return {
        "source": SOURCE,
        "content": spec.title,
        "representation": "one utterance per video: the mean of its 20 aligned steps, "
        "padding steps left out",
        **{f"sha256:{f}": file_sha256(directory / f) for f in files},
    }


def _empty_note(splits: dict[str, list[Conversation]]) -> str | None:
    """A sentence counting the videos whose kept features are all zero, if any."""
    counts = {
        s: sum(all(not c.feats[m].any() for m in c.feats) for c in convs)
        for s, convs in splits.items()
    }
    if not any(counts.values()):
        return None
    parts = ", ".join(f"{counts[s]} of {len(splits[s])} {s}" for s in splits)
    return (
        f"In this release {parts} videos have all-zero features in every kept modality "
        "(all 20 steps): for them a model can only guess"
    )


def read_mfn(directory: str | Path, name: str) -> ConversationDataset:
    """The MFN release of ``name`` (pom, youtube or mmmo) from ``directory``.

    Returns:
        one conversation of one utterance per video; feats ``(1, D_m)``.
    """
    directory = Path(directory)
    spec = SPECS[name]
    if not directory.is_dir():
        raise DataError("not a directory (want the folder of the .h5 files)", file=directory)
    kept, notes = _missing(directory)
    if not kept:
        raise DataError("no modality is present in every split", file=directory)
    read = {s: _split(directory, s, kept, spec) for s in SPLITS}
    splits = {s: convs for s, (convs, _) in read.items()}
    empty = _empty_note(splits)
    sentences = [*notes, *([empty] if empty else [])]
    ds = ConversationDataset(
        name=name,
        splits=splits,
        label_names=list(spec.label_names),
        modalities=read["train"][1],
        task=spec.task,
        provenance=_provenance(directory, kept, spec),
        warning=". ".join(sentences) + "." if sentences else None,
    )
    validate_dataset(ds, directory)
    return ds


@register_dataset("pom", "POM (MFN HDF5): 17 speaker traits, audio+visual; text missing")
def load_pom(path: Path | None = None) -> ConversationDataset:
    """POM (MFN HDF5): 17 speaker traits, audio+visual; text missing."""
    return read_mfn(_need(path, "pom"), "pom")


@register_dataset("youtube", "YouTube sentiment (MFN HDF5), 3 classes, audio+visual")
def load_youtube(path: Path | None = None) -> ConversationDataset:
    """YouTube sentiment (MFN HDF5), 3 classes, audio+visual."""
    return read_mfn(_need(path, "youtube"), "youtube")


@register_dataset("mmmo", "MMMO sentiment score 1..5 (MFN HDF5), audio+visual")
def load_mmmo(path: Path | None = None) -> ConversationDataset:
    """MMMO sentiment score 1..5 (MFN HDF5), audio+visual."""
    return read_mfn(_need(path, "mmmo"), "mmmo")


def _need(path: Path | None, name: str) -> Path:
    """``path``, by default ``<name>/`` under the data root (``$LMAM_DATA``)."""
    return path if path is not None else default_data(name)
