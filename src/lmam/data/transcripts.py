"""Transcript pickles of COSMIC (declare-lab/conv-emotion): texts, speakers, labels, splits.

``cosmic_iemocap.pkl``: a list of 6
``[speakers, labels, sentences, trainIds, testIds, validIds]``; speakers
``'M'``/``'F'``, labels 0 happy .. 5 frustrated.

``cosmic_meld.pkl``: a list of 7
``[speakers, emotion, sentiment, sentences, trainIds, testIds, validIds]``;
speakers one-hot vectors, 7 emotions or 3 sentiments.

These files carry no features: the conversations have texts and ``feats``
``{}``, the dataset ``modalities`` ``{}``; ``lmam features text`` embeds the
texts. Both have official validation splits, used as they are.
"""

from __future__ import annotations

from pathlib import Path

from lmam.data.dataset import ConversationDataset
from lmam.data.erc_common import Columns, family_of, label_names, read_dialogue, split_ids
from lmam.data.errors import DataError
from lmam.data.registry import register_dataset
from lmam.data.safe_pickle import safe_load
from lmam.data.sources import default_data, recognise
from lmam.data.validate import validate_dataset

IEMOCAP_FIELDS = ("speakers", "labels", "sentences", "trainIds", "testIds", "validIds")
MELD_FIELDS = (
    "speakers",
    "emotion",
    "sentiment",
    "sentences",
    "trainIds",
    "testIds",
    "validIds",
)
LAYOUTS = {
    "iemocap-transcripts": (
        f"COSMIC IEMOCAP transcripts, a list of 6 [{', '.join(IEMOCAP_FIELDS)}] "
        "(cosmic_iemocap.pkl)"
    ),
    "meld-transcripts": (
        f"COSMIC MELD transcripts, a list of 7 [{', '.join(MELD_FIELDS)}] (cosmic_meld.pkl)"
    ),
}
FILES = {"IEMOCAP": "cosmic_iemocap.pkl", "MELD": "cosmic_meld.pkl"}
WARNING = (
    "transcripts only, no features: embed the texts (lmam features text) before training a model"
)


def transcript_fields(obj: object) -> tuple[str, ...] | None:
    """The field names if ``obj`` has the shape of a COSMIC transcripts pickle, else None."""
    if not isinstance(obj, (list, tuple)):
        return None
    fields = {6: IEMOCAP_FIELDS, 7: MELD_FIELDS}.get(len(obj))
    if fields is None:
        return None
    n_dicts = len(fields) - 3
    if all(isinstance(x, dict) for x in obj[:n_dicts]) and not any(
        isinstance(x, dict) for x in obj[n_dicts:]
    ):
        return fields
    return None


def transcripts_from_object(
    obj: object, file: str | Path, *, labels: str = "emotion"
) -> ConversationDataset:
    """Build the dataset from an unpickled COSMIC transcripts object (see module doc)."""
    fields = transcript_fields(obj)
    if fields is None:
        raise DataError(
            f"not a COSMIC transcripts pickle of one of the {len(LAYOUTS)} known layouts "
            "(lmam data layouts lists them)",
            file=file,
        )
    assert isinstance(obj, (list, tuple))
    parts = dict(zip(fields, obj))
    family = family_of(parts["speakers"], file, "speakers")
    expected = "IEMOCAP" if fields == IEMOCAP_FIELDS else "MELD"
    if family != expected:
        raise DataError(
            f"the layout is {expected}'s but the speakers are {family}'s",
            file=file,
            field="speakers",
        )
    names = label_names(family, labels)
    columns = Columns("speakers", "labels" if family == "IEMOCAP" else labels, "sentences")
    splits = {
        split: [
            read_dialogue(parts, key, columns, family, file)
            for key in split_ids(parts[f"{split}Ids"], file, f"{split}Ids")
        ]
        for split in ("train", "valid", "test")
    }
    name = f"{family.lower()}-transcripts"
    ds = ConversationDataset(
        name=name,
        splits=splits,
        label_names=names,
        modalities={},
        provenance={
            "source": str(file),
            "layout": LAYOUTS[name],
            **recognise(file),
            "dataset": family,
            "labels": labels,
            "speakers": _SPEAKERS[family],
            "valid": "the file's official validation split (validIds)",
            "licence": _LICENCE[family],
        },
        warning=WARNING,
    )
    validate_dataset(ds, file, field_names={"id": "trainIds/validIds/testIds"})
    return ds


_SPEAKERS = {
    "IEMOCAP": "M -> 0, F -> 1",
    "MELD": "index of the one-hot speaker vector (slot by first appearance in the dialogue)",
}
_LICENCE = {
    "IEMOCAP": (
        "transcripts: MIT (declare-lab/conv-emotion); "
        "IEMOCAP itself: licence agreement with USC SAIL"
    ),
    "MELD": "transcripts: MIT (declare-lab/conv-emotion); MELD: GPL-3.0",
}


def read_transcripts(path: str | Path, *, labels: str = "emotion") -> ConversationDataset:
    """Read ``cosmic_iemocap.pkl`` / ``cosmic_meld.pkl``, or a directory holding one of them.

    Args:
        path: the pickle, or a directory with exactly one of the two files
            (directly or in an ``iemocap/`` / ``meld/`` subdirectory).
        labels: ``"emotion"`` or ``"sentiment"`` (MELD only).

    Returns:
        The dataset with texts, speakers and labels; ``feats`` and
        ``modalities`` are empty.
    """
    file = _find_file(Path(path), ["IEMOCAP", "MELD"])
    return transcripts_from_object(safe_load(file), file, labels=labels)


def _find_file(path: Path, families: list[str]) -> Path:
    if not path.is_dir():
        if not path.exists():
            raise DataError("no such file or directory", file=path)
        return path
    found = [
        p
        for family in families
        for p in (path / FILES[family], path / family.lower() / FILES[family])
        if p.is_file()
    ]
    if len(found) != 1:
        wanted = " or ".join(FILES[f] for f in families)
        problem = "several candidates: " + ", ".join(map(str, found)) if found else "none found"
        raise DataError(f"expected one {wanted} in this directory; {problem}", file=path)
    return found[0]


def _registered(family: str, path: Path | None, labels: str) -> ConversationDataset:
    file = _find_file(path if path is not None else default_data(family.lower()), [family])
    ds = read_transcripts(file, labels=labels)
    if ds.provenance["dataset"] != family:
        raise DataError(f"this file holds {ds.provenance['dataset']}, not {family}", file=file)
    return ds


@register_dataset(
    "iemocap-transcripts", "IEMOCAP transcripts, speakers, labels, splits (COSMIC; no features)"
)
def load_iemocap_transcripts(path: Path | None = None) -> ConversationDataset:
    """IEMOCAP transcripts from cosmic_iemocap.pkl (a file or its directory; default: data root)."""
    return _registered("IEMOCAP", path, "emotion")


@register_dataset(
    "meld-transcripts", "MELD transcripts, speakers, labels, splits (COSMIC; no features)"
)
def load_meld_transcripts(
    path: Path | None = None, *, labels: str = "emotion"
) -> ConversationDataset:
    """MELD transcripts from cosmic_meld.pkl; ``labels="emotion"`` or ``"sentiment"``."""
    return _registered("MELD", path, labels)
