"""Check a loaded dataset before anyone trains on it.

Every problem raises :class:`~lmam.data.errors.DataError` naming the file, the
dialogue and the field, so that a bad file never surfaces as a traceback from
deep inside numpy or torch.

Field names in the messages are ``id``, ``speakers``, ``labels``, ``texts`` and
``feats.<modality>``; a reader can pass ``field_names`` to show the names its
file uses instead (``{"feats.audio": "videoAudio"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import numpy as np

from lmam.data.dataset import IGNORE_INDEX, SPLITS, Conversation, ConversationDataset
from lmam.data.errors import DataError
from lmam.options import plural


def validate_dataset(
    ds: ConversationDataset,
    file: str | Path,
    *,
    field_names: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`DataError` for the first problem found in ``ds``.

    Checks: split names; declared modality widths; per dialogue: a string id,
    no empty dialogue, speakers ``(T,)`` non-negative ints, labels ``(T,)`` ints
    in ``[0, num_classes)`` (or ``IGNORE_INDEX`` for an unlabelled utterance) for
    classification, finite floats ``(T,)`` / ``(T, K)`` with one ``K`` for
    regression, every declared modality present as a finite ``(T, D_m)``
    matrix with ``D_m`` the declared width, texts (when given) ``T`` strings;
    across dialogues: no duplicate id within a split, no id in two splits.

    Args:
        ds: the dataset to check.
        file: the file (or directory) it was read from, for the messages.
        field_names: optional renaming of fields in the messages.
    """
    checker = _Checker(ds, file, field_names or {})
    checker.check_header()
    seen: dict[str, str] = {}
    for split, convs in ds.splits.items():
        for conv in convs:
            checker.check_id(conv, split, seen)
            checker.check_conversation(conv)


class _Checker:
    """The checks of :func:`validate_dataset`, sharing the file and field names."""

    def __init__(self, ds: ConversationDataset, file: str | Path, names: Mapping[str, str]):
        self.ds = ds
        self.file = file
        self.names = names
        self.target_shape: tuple[int, ...] | None = None

    def error(
        self, problem: str, dialogue: str | None = None, field: str | None = None
    ) -> NoReturn:
        name = self.names.get(field, field) if field is not None else None
        raise DataError(problem, file=self.file, dialogue=dialogue, field=name)

    def check_header(self) -> None:
        ds = self.ds
        unknown = [s for s in ds.splits if s not in SPLITS]
        if unknown:
            self.error(f"unknown split {unknown[0]!r}; splits are {', '.join(SPLITS)}")
        if ds.task == "classification" and not ds.label_names:
            self.error("a classification dataset needs label names", field="labels")
        for m, width in ds.modalities.items():
            if isinstance(width, bool) or not isinstance(width, int) or width <= 0:
                self.error(f"declared width {width!r} is not a positive integer", field=_f(m))

    def check_id(self, conv: Conversation, split: str, seen: dict[str, str]) -> None:
        if not isinstance(conv.id, str) or not conv.id:
            self.error(f"dialogue id {conv.id!r} is not a non-empty string", field="id")
        if conv.id in seen:
            where = seen[conv.id]
            problem = (
                f"duplicate dialogue id: it occurs twice in {split}"
                if where == split
                else f"dialogue id is in two splits: {where} and {split}"
            )
            self.error(problem, dialogue=conv.id, field="id")
        seen[conv.id] = split

    def check_conversation(self, conv: Conversation) -> None:
        n = self.check_speakers(conv)
        self.check_labels(conv, n)
        self.check_feats(conv, n)
        if conv.texts is not None:
            self.check_texts(conv, n)

    def check_speakers(self, conv: Conversation) -> int:
        sp = conv.speakers
        if not isinstance(sp, np.ndarray) or sp.ndim != 1:
            self.error(f"expected a (T,) array, got {_shape(sp)}", conv.id, "speakers")
        if not np.issubdtype(sp.dtype, np.integer):
            self.error(f"expected integer speaker ids, got dtype {sp.dtype}", conv.id, "speakers")
        if sp.shape[0] == 0:
            self.error("empty dialogue: it has no utterances", conv.id, "speakers")
        if sp.min() < 0:
            at = int(np.argmin(sp))
            self.error(f"negative speaker id {int(sp[at])} at utterance {at}", conv.id, "speakers")
        return int(sp.shape[0])

    def check_labels(self, conv: Conversation, n: int) -> None:
        y = conv.labels
        if not isinstance(y, np.ndarray) or y.ndim == 0:
            self.error(f"expected an array, got {_shape(y)}", conv.id, "labels")
        if y.shape[0] != n:
            self.error(
                f"{plural(y.shape[0], 'label')} but {plural(n, 'utterance')} (speakers)",
                conv.id,
                "labels",
            )
        if self.ds.task == "regression":
            self.check_targets(conv, y)
            return
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            self.error(
                f"expected (T,) integer class ids, got shape {y.shape} dtype {y.dtype}",
                conv.id,
                "labels",
            )
        bad = np.flatnonzero(((y < 0) | (y >= self.ds.num_classes)) & (y != IGNORE_INDEX))
        if bad.size:
            at = int(bad[0])
            self.error(
                f"label {int(y[at])} at utterance {at} is out of range "
                f"[0, {self.ds.num_classes}) ({', '.join(self.ds.label_names)})",
                conv.id,
                "labels",
            )

    def check_targets(self, conv: Conversation, y: np.ndarray) -> None:
        if y.ndim > 2 or not np.issubdtype(y.dtype, np.floating):
            self.error(
                f"expected float targets (T,) or (T, K), got shape {y.shape} dtype {y.dtype}",
                conv.id,
                "labels",
            )
        shape = tuple(y.shape[1:])
        if self.target_shape is None:
            self.target_shape = shape
        elif shape != self.target_shape:
            self.error(
                f"targets of shape {y.shape} but earlier dialogues have (T, "
                f"{', '.join(map(str, self.target_shape)) or ''})",
                conv.id,
                "labels",
            )
        self.check_finite(y, conv.id, "labels")

    def check_feats(self, conv: Conversation, n: int) -> None:
        missing = [m for m in self.ds.modalities if m not in conv.feats]
        if missing:
            self.error("missing modality", conv.id, _f(missing[0]))
        extra = [m for m in conv.feats if m not in self.ds.modalities]
        if extra:
            self.error(
                f"modality not declared by the dataset (it declares {list(self.ds.modalities)})",
                conv.id,
                _f(extra[0]),
            )
        for m, width in self.ds.modalities.items():
            x = conv.feats[m]
            field = _f(m)
            if not isinstance(x, np.ndarray) or x.ndim != 2:
                self.error(f"expected a (T, D) matrix, got {_shape(x)}", conv.id, field)
            if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
                self.error(f"expected real numbers, got dtype {x.dtype}", conv.id, field)
            if x.shape[0] != n:
                self.error(
                    f"{plural(x.shape[0], 'row')} but {plural(n, 'utterance')} (speakers)",
                    conv.id,
                    field,
                )
            if x.shape[1] != width:
                self.error(
                    f"width {x.shape[1]}, but the dataset's {m} width is {width}",
                    conv.id,
                    field,
                )
            self.check_finite(x, conv.id, field)

    def check_finite(self, x: np.ndarray, dialogue: str, field: str) -> None:
        finite = np.isfinite(x)
        if not finite.all():
            at = int(np.argwhere(~finite)[0][0])
            value = x.reshape(x.shape[0], -1)[at][~finite.reshape(x.shape[0], -1)[at]][0]
            self.error(f"non-finite value {value} at utterance {at}", dialogue, field)

    def check_texts(self, conv: Conversation, n: int) -> None:
        texts = conv.texts
        if not isinstance(texts, list):
            self.error(f"expected a list of strings, got {type(texts).__name__}", conv.id, "texts")
        if len(texts) != n:
            self.error(
                f"{plural(len(texts), 'text')} but {plural(n, 'utterance')} (speakers)",
                conv.id,
                "texts",
            )
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                self.error(f"text at utterance {i} is a {type(t).__name__}", conv.id, "texts")


def _f(modality: str) -> str:
    return f"feats.{modality}"


def _shape(x: object) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    return f"a {type(x).__name__}"
