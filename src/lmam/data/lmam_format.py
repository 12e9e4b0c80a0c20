"""lmam's own dataset format: one ``.npz`` file, versioned, loaded without pickle.

Layout (``format_version`` 1), every member a plain numpy array:

- ``lmam_meta``: ``(B,)`` uint8, the UTF-8 bytes of a JSON object holding
  ``format`` (``"lmam-dataset"``), ``format_version``, ``name``, ``task``,
  ``label_names``, ``modalities`` (``{name: width}``, in order), ``provenance``,
  ``selection``, ``epochs``, ``warning`` and ``splits``:
  ``{split: {"ids": [...], "texts": [null | [str, ...], ...]}}``.
- per split ``s``, the conversations of ``s`` concatenated along utterances
  (``N`` = utterances in ``s``, ``C`` = conversations in ``s``):
  ``s.lengths`` ``(C,)`` int64, ``s.speakers`` ``(N,)``, ``s.labels`` ``(N, ...)``,
  ``s.feats.<modality>`` ``(N, D_m)``.

Dtypes are kept as written, so a save/load round trip is bit-exact.
See docs/data.md, section "Our data format".
"""

from __future__ import annotations

import json
import os
import re
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lmam.data.dataset import Conversation, ConversationDataset
from lmam.data.errors import DataError
from lmam.data.registry import register_dataset
from lmam.data.validate import validate_dataset
from lmam.options import plural

FORMAT = "lmam-dataset"
FORMAT_VERSION = 1
META = "lmam_meta"
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_META_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "task": (str,),
    "label_names": (list,),
    "modalities": (dict,),
    "provenance": (dict,),
    "selection": (str,),
    "epochs": (int, type(None)),
    "warning": (str, type(None)),
    "splits": (dict,),
}
_CHOICES = {"task": ("classification", "regression"), "selection": ("valid", "last")}


def _check_name(name: str, file: Path) -> None:
    """Modality names become member names: keep them to letters, digits, ``_`` and ``-``."""
    if not _NAME.match(name):
        raise DataError(
            f"modality name {name!r} must match {_NAME.pattern}", file=file, field="modalities"
        )


def _same(arrays: list[np.ndarray], convs: list[Conversation], file: Path, field: str) -> None:
    """All ``arrays`` share dtype and trailing shape (so concatenation is exact)."""
    for a, c in zip(arrays, convs):
        if a.dtype != arrays[0].dtype or a.shape[1:] != arrays[0].shape[1:]:
            raise DataError(
                f"dtype/shape {a.dtype}{a.shape} differs from {arrays[0].dtype}"
                f"{arrays[0].shape} of {convs[0].id!r} in the same split",
                file=file,
                dialogue=c.id,
                field=field,
            )


def _pack_split(
    split: str, convs: list[Conversation], modalities: list[str], file: Path
) -> dict[str, np.ndarray]:
    """The arrays of one split, conversations concatenated along utterances."""
    out = {f"{split}.lengths": np.array([len(c) for c in convs], dtype=np.int64)}
    if not convs:
        out[f"{split}.speakers"] = np.zeros(0, np.int64)
        out[f"{split}.labels"] = np.zeros(0, np.int64)
        for m in modalities:
            out[f"{split}.feats.{m}"] = np.zeros((0, 0), np.float32)
        return out
    columns = {"speakers": [c.speakers for c in convs], "labels": [c.labels for c in convs]}
    columns.update({f"feats.{m}": [c.feats[m] for c in convs] for m in modalities})
    for field, arrays in columns.items():
        _same(arrays, convs, file, field)
        out[f"{split}.{field}"] = np.concatenate(arrays)
    return out


def _meta(ds: ConversationDataset) -> dict[str, Any]:
    from lmam import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "writer": f"lmam {__version__}",
        "name": ds.name,
        "task": ds.task,
        "label_names": list(ds.label_names),
        "modalities": dict(ds.modalities),
        "provenance": dict(ds.provenance),
        "selection": ds.selection,
        "epochs": ds.epochs,
        "warning": ds.warning,
        "splits": {
            s: {"ids": [c.id for c in convs], "texts": [c.texts for c in convs]}
            for s, convs in ds.splits.items()
        },
    }


def save_dataset(ds: ConversationDataset, path: str | Path) -> Path:
    """Write ``ds`` to ``path`` in lmam's format (atomically: a temp file, then a rename).

    The dataset is validated first, so a file that is written can always be loaded.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        DataError: the dataset cannot be stored (names the dialogue and field).
    """
    path = Path(path)
    validate_dataset(ds, path)
    for m in ds.modalities:
        _check_name(m, path)
    meta = _check_meta(_meta(ds), path)
    arrays: dict[str, np.ndarray] = {}
    for split, convs in ds.splits.items():
        arrays.update(_pack_split(split, convs, list(ds.modalities), path))
    try:
        text = json.dumps(meta, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise DataError(f"metadata cannot be stored as JSON: {e}", file=path) from None
    arrays[META] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("xb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every member of the ``.npz`` at ``path``, refusing pickled objects."""
    if not path.is_file():
        raise DataError("no such file", file=path)
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise DataError("not an lmam dataset file (a bare .npy array)", file=path)
        with z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"not a readable lmam dataset file: {e}", file=path) from None


def _read_meta(arrays: dict[str, np.ndarray], path: Path) -> dict[str, Any]:
    raw = arrays.get(META)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise DataError("not an lmam dataset file (no metadata)", file=path, field=META)
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"corrupt metadata: {e}", file=path, field=META) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"not an lmam dataset file (format is not {FORMAT!r})", file=path)
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise DataError(
            f"format_version {version!r}: this lmam reads version {FORMAT_VERSION}"
            + ("; upgrade lmam" if isinstance(version, int) and version > FORMAT_VERSION else ""),
            file=path,
            field="format_version",
        )
    return _check_meta(meta, path)


def _check_meta(meta: dict[str, Any], path: Path) -> dict[str, Any]:
    """The header fields have their types and allowed values (on save and on load)."""
    for key, types in _META_FIELDS.items():
        if key not in meta or not isinstance(meta[key], types) or isinstance(meta[key], bool):
            raise DataError(
                f"missing or of the wrong type {type(meta.get(key)).__name__}", file=path, field=key
            )
    for key, allowed in _CHOICES.items():
        if meta[key] not in allowed:
            raise DataError(f"{meta[key]!r} is not one of {allowed}", file=path, field=key)
    return meta


def _member(arrays: dict[str, np.ndarray], key: str, kinds: str, path: Path) -> np.ndarray:
    a = arrays.get(key)
    if a is None or a.dtype.kind not in kinds:
        got = "missing" if a is None else str(a.dtype)
        raise DataError(f"array missing or of the wrong dtype ({got})", file=path, field=key)
    return a


def _texts(entry: dict[str, Any], i: int, n: int, cid: str, path: Path) -> list[str] | None:
    texts = entry["texts"][i]
    if texts is None:
        return None
    if not isinstance(texts, list) or len(texts) != n or not all(isinstance(t, str) for t in texts):
        raise DataError(f"want {n} strings or null", file=path, dialogue=cid, field="texts")
    return texts


def _unpack_split(
    split: str, entry: Any, arrays: dict[str, np.ndarray], modalities: list[str], path: Path
) -> Iterator[Conversation]:
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("ids"), list)
        or not isinstance(entry.get("texts"), list)
    ):
        raise DataError("want {ids: [...], texts: [...]}", file=path, field=f"splits.{split}")
    lengths = _member(arrays, f"{split}.lengths", "iu", path)
    speakers = _member(arrays, f"{split}.speakers", "iu", path)
    labels = _member(arrays, f"{split}.labels", "iuf", path)
    feats = {m: _member(arrays, f"{split}.feats.{m}", "iuf", path) for m in modalities}
    ids = entry["ids"]
    if lengths.ndim != 1 or len(ids) != len(lengths) or len(entry["texts"]) != len(lengths):
        raise DataError(f"{len(ids)} ids for {lengths.shape} lengths", file=path, field=split)
    if (lengths < 0).any():
        raise DataError("negative length", file=path, field=f"{split}.lengths")
    n = int(lengths.sum())
    sizes = {"speakers": speakers.shape, "labels": labels.shape}
    sizes.update({f"feats.{m}": x.shape for m, x in feats.items()})
    for field, shape in sizes.items():
        if shape[:1] != (n,):
            rows = plural(int(shape[0]), "row") if shape else "no rows"
            raise DataError(
                f"{rows} for {plural(n, 'utterance')}",
                file=path,
                field=f"{split}.{field}",
            )
    ends = np.cumsum(lengths)
    for i, cid in enumerate(ids):
        if not isinstance(cid, str):
            raise DataError(f"id {cid!r} is not a string", file=path, field=f"{split}.ids")
        a, b = int(ends[i] - lengths[i]), int(ends[i])
        yield Conversation(
            id=cid,
            feats={m: x[a:b] for m, x in feats.items()},
            speakers=speakers[a:b],
            labels=labels[a:b],
            texts=_texts(entry, i, b - a, cid, path),
        )


def load_dataset(path: str | Path) -> ConversationDataset:
    """Load a dataset written by :func:`save_dataset` (no pickle is ever loaded).

    Raises:
        DataError: for a missing, corrupt or unsupported-version file (names the
            file, and the dialogue and field where it applies).
    """
    path = Path(path)
    arrays = _read_arrays(path)
    meta = _read_meta(arrays, path)
    modalities = meta["modalities"]
    splits = {
        s: list(_unpack_split(s, e, arrays, list(modalities), path))
        for s, e in meta["splits"].items()
    }
    ds = ConversationDataset(
        name=meta["name"],
        splits=splits,
        label_names=meta["label_names"],
        modalities=modalities,
        task=meta["task"],
        provenance=meta["provenance"],
        selection=meta["selection"],
        epochs=meta["epochs"],
        warning=meta["warning"],
    )
    validate_dataset(ds, path)
    return ds


def is_ours(path: str | Path) -> bool:
    """Whether ``path`` is a file in lmam's format (reads only its metadata)."""
    path = Path(path)
    try:
        if not path.is_file() or not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as z, z.open(f"{META}.npy") as f:
            raw = np.lib.format.read_array(f, allow_pickle=False)
        return bool(json.loads(raw.tobytes().decode("utf-8")).get("format") == FORMAT)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, zlib.error, AttributeError):
        return False


_HEADER = (
    "name",
    "label_names",
    "modalities",
    "task",
    "provenance",
    "selection",
    "epochs",
    "warning",
)


def differences(a: ConversationDataset, b: ConversationDataset) -> list[str]:
    """Every way ``a`` and ``b`` differ (empty when identical: order, dtypes and bits included)."""
    out = [
        f"{k}: {getattr(a, k)!r} != {getattr(b, k)!r}"
        for k in _HEADER
        if _plain(getattr(a, k)) != _plain(getattr(b, k))
    ]
    if list(a.splits) != list(b.splits):
        return [*out, f"splits: {list(a.splits)} != {list(b.splits)}"]
    for s in a.splits:
        if [c.id for c in a.splits[s]] != [c.id for c in b.splits[s]]:
            out.append(f"{s}: ids differ")
            continue
        for ca, cb in zip(a.splits[s], b.splits[s]):
            out += [f"{s}/{ca.id}/{field}: differs" for field in _conversation_diff(ca, cb)]
    return out


def _plain(value: object) -> object:
    """``value`` with its type, dict order kept (dict ``==`` ignores order)."""
    return (type(value), list(value.items()) if isinstance(value, dict) else value)


def _conversation_diff(a: Conversation, b: Conversation) -> list[str]:
    """The fields in which two conversations differ."""
    out = [] if list(a.feats) == list(b.feats) else ["modalities"]
    pairs = [("speakers", a.speakers, b.speakers), ("labels", a.labels, b.labels)]
    pairs += [(f"feats.{m}", a.feats[m], b.feats[m]) for m in a.feats if m in b.feats]
    out += [field for field, x, y in pairs if not _identical(x, y)]
    return out + ([] if a.texts == b.texts else ["texts"])


def _identical(x: np.ndarray, y: np.ndarray) -> bool:
    """Same dtype, shape and bytes."""
    return (
        x.dtype == y.dtype
        and x.shape == y.shape
        and np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes()
    )


@register_dataset("lmam", "a dataset in lmam's own .npz format (path = the file)")
def load_lmam(path: Path | None = None) -> ConversationDataset:
    """A dataset in lmam's own ``.npz`` format (``path`` = the file)."""
    if path is None:
        raise ValueError("the 'lmam' dataset needs a path: the .npz file written by save_dataset")
    return load_dataset(path)
