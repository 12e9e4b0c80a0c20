"""The tuple layouts of the ERC feature pickles, and how to tell them apart.

See :mod:`lmam.data.erc_pickles` for what each layout holds. A layout is
recognised by its tuple length and, for the two 9-tuples, by element 5
(features in the classic layout, sentences in MELD's text+audio layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lmam.data.errors import DataError
from lmam.data.transcripts import LAYOUTS as TRANSCRIPT_LAYOUTS

ROBERTA_TEXTS = ("text1", "text2", "text3", "text4")


@dataclass(frozen=True)
class Layout:
    """One tuple layout: the name of each element and the role of the named ones."""

    key: str
    description: str
    fields: tuple[str, ...]
    texts: tuple[str, ...]
    audio: str
    visual: str | None
    emotion: str
    sentiment: str | None

    @property
    def length(self) -> int:
        return len(self.fields)


_CLASSIC = (
    "videoIDs",
    "videoSpeakers",
    "videoLabels",
    "videoText",
    "videoAudio",
    "videoVisual",
    "videoSentence",
    "trainVid",
    "testVid",
)
_ROBERTA = (
    "videoIDs",
    "videoSpeakers",
    "videoLabels",
    *ROBERTA_TEXTS,
    "videoAudio",
    "videoVisual",
    "videoSentence",
    "trainVid",
    "testVid",
)
_MELD_TEXT_AUDIO = (
    "videoIDs",
    "videoSpeakers",
    "emotionLabels",
    "videoText",
    "videoAudio",
    "videoSentence",
    "trainVid",
    "testVid",
    "sentimentLabels",
)


def _describe(title: str, fields: tuple[str, ...], where: str) -> str:
    return f"{title} {len(fields)}-tuple ({', '.join(fields)}): {where}"


LAYOUTS = {
    layout.key: layout
    for layout in [
        Layout(
            "classic",
            _describe(
                "classic",
                _CLASSIC,
                "IEMOCAP_features.pkl of DialogueGCN/MMGCN/MM-DFN, "
                "IEMOCAP_features_raw.pkl of bc-LSTM/DialogueRNN",
            ),
            _CLASSIC,
            ("videoText",),
            "videoAudio",
            "videoVisual",
            "videoLabels",
            None,
        ),
        Layout(
            "meld-classic",
            _describe(
                "classic MELD", (*_CLASSIC, "sentiment"), "MELD_features_raw.pkl of MMGCN/MM-DFN"
            ),
            (*_CLASSIC, "sentiment"),
            ("videoText",),
            "videoAudio",
            "videoVisual",
            "videoLabels",
            "sentiment",
        ),
        Layout(
            "meld-text-audio",
            _describe(
                "MELD text+audio",
                _MELD_TEXT_AUDIO,
                "MELD text+audio features of DialogueGCN/bc-LSTM",
            ),
            _MELD_TEXT_AUDIO,
            ("videoText",),
            "videoAudio",
            None,
            "emotionLabels",
            "sentimentLabels",
        ),
        Layout(
            "roberta",
            _describe("RoBERTa", _ROBERTA, "iemocap_multimodal_features.pkl (RoBERTa text)"),
            _ROBERTA,
            ROBERTA_TEXTS,
            "videoAudio",
            "videoVisual",
            "videoLabels",
            None,
        ),
        Layout(
            "meld-roberta",
            _describe("RoBERTa MELD", (*_ROBERTA, "sentiment"), "the MELD RoBERTa file"),
            (*_ROBERTA, "sentiment"),
            ROBERTA_TEXTS,
            "videoAudio",
            "videoVisual",
            "videoLabels",
            "sentiment",
        ),
    ]
}


# What lmam reads besides pickles (lmam.data.detect.open_dataset), for the messages.
OTHER_FORMATS = [
    "an lmam dataset file (.npz written by `lmam data export`)",
    "a directory holding MELD's CSV release "
    "(train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv)",
]


def known_layouts() -> list[str]:
    """One line per layout lmam reads: the pickle layouts, then the other formats."""
    return [
        *(layout.description for layout in LAYOUTS.values()),
        *TRANSCRIPT_LAYOUTS.values(),
        *OTHER_FORMATS,
    ]


def detect_layout(obj: object) -> Layout | None:
    """The feature layout of an unpickled object, by tuple length and content; None if unknown."""
    if not isinstance(obj, (tuple, list)) or not obj or not isinstance(obj[0], dict):
        return None
    if len(obj) == 9:
        # element 5 is videoVisual (features) in the classic layout and
        # videoSentence (lists of strings) in MELD's text+audio layout
        key = "meld-text-audio" if _holds_strings(obj[5]) else "classic"
    else:
        key = {10: "meld-classic", 12: "roberta", 13: "meld-roberta"}.get(len(obj), "")
    layout = LAYOUTS.get(key)
    if layout is None:
        return None
    per_dialogue = [i for i, f in enumerate(layout.fields) if f not in ("trainVid", "testVid")]
    if all(isinstance(obj[i], dict) for i in per_dialogue):
        return layout
    return None


def _holds_strings(table: object) -> bool:
    if not isinstance(table, dict):
        return False
    for value in table.values():
        if isinstance(value, (list, tuple)) and value:
            return isinstance(value[0], (str, bytes))
    return False


def known_layouts_text() -> str:
    """A short pointer to the known layouts, for error messages (``lmam data layouts``
    lists them in full)."""
    return f"lmam reads {len(known_layouts())} known layouts (lmam data layouts lists them)"


def unknown_layout(file: str | Path, obj: object) -> DataError:
    """The error for an object of no known layout, listing the known ones."""
    shape = f"a {type(obj).__name__}"
    if isinstance(obj, (tuple, list)):
        shape += f" of {len(obj)} ({', '.join(type(x).__name__ for x in obj[:13])})"
    return DataError(f"unknown layout: {shape}; {known_layouts_text()}", file=file)
