"""The LMAM paper's published numbers (Tables II to XIV), as plain data.

Every value is transcribed as printed: percentages for accuracies, F1, P@K and
MRR@K, millions (M) for parameters, seconds for times, plain floats for MAE,
correlation and p-values. Nothing is rounded, corrected or derived; the paper's
Δ rows are left out (they are differences of the rows above them, and some of
them do not match those rows).

Each table is a :class:`PaperTable`: its number, a short caption, a
:attr:`~PaperTable.source` note, the paper's column labels in order, and
``rows`` from the paper's row label (citation marks dropped, ``$\\diamond$``
written ``◇``) to that row's values.

Row labels map onto lmam's names:

* :data:`METHOD_KEYS`: a backbone row of Tables II-VIII to
  ``(backbone, variant)``, ``backbone`` a registered model name and
  ``variant`` one of :data:`VARIANTS`;
* :data:`FUSION_KEYS`: a row of Table IX to a registered fusion name (and,
  for LoRA, its base);
* :data:`MODALITY_KEYS`: a row of Table X (or a column of Table XIV) to
  lmam's modality names;
* :data:`TABLE_XI_KEYS`: a row of Table XI to ``(backbone, embed)``;

Class names are lmam's (:data:`IEMOCAP_CLASSES`, :data:`MELD_CLASSES`, in the
paper's column order, which is also lmam's label order); the paper's own
column headers are in each table's ``columns``.

Inconsistencies inside the paper, kept as printed:

* Table V gives EmoCaps's IEMOCAP F1 as 71.06; Table II's weighted average
  is 70.06. Every other value of Table V equals Table II / III.
* The prose of Section V-E quotes LMAM's Acc as 73.0 (IEMOCAP) and 65.4
  (MELD) and its F1 as 73.0 and 64.9; Table IX (and Table X) print
  73.7 / 73.0 and 64.9 / 63.9.
* Table XI's ``*(R)`` rows equal Tables II / III's ``*`` weighted averages
  only for EmoCaps (bc-LSTM, MM-DFN and M2FNet differ). Table XI writes
  M2FNet as "M2FFNet", and its M2FFNet* IEMOCAP F1 (57.96) is far below the
  row's Acc. (68.35).
* Tables VII and VIII write EmoCaps as "Emocaps".
* Table VI's caption mentions ◇ rows; the table has none. Its header pairs
  each dataset's "Running Time" with an empty column.
* Δ rows (not kept): bc-LSTM's are taken against bc-LSTM+Att (in Table II
  except the weighted average, which is against bc-LSTM); a few do not
  match their rows (Table II TextCNN Frustrated ↓3.87 / ↑3.29 for
  -3.93 / +3.38; Table III M2FNet Neutral Acc. ↓4.48 for -0.48, EmoCaps
  Disgust F1 ↓0.84 for -0.64 and weighted F1 ↑0.97 for +0.91; others are
  off by 0.01); Table IV marks lower MAE with ↑.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, NamedTuple, TypeVar, overload

__all__ = [
    "FUSION_KEYS",
    "IEMOCAP_CLASSES",
    "MELD_CLASSES",
    "METHOD_KEYS",
    "MODALITY_KEYS",
    "MOSI_METRICS",
    "SESSION_METRICS",
    "TABLES",
    "TABLE_II",
    "TABLE_III",
    "TABLE_IV_MOSI",
    "TABLE_IV_POM",
    "TABLE_IX",
    "TABLE_V",
    "TABLE_VI",
    "TABLE_VII",
    "TABLE_VIII",
    "TABLE_X",
    "TABLE_XI",
    "TABLE_XII",
    "TABLE_XIII",
    "TABLE_XIV",
    "TABLE_XI_KEYS",
    "VARIANTS",
    "WEIGHTED",
    "AccF1",
    "ComplexityRow",
    "DatasetsAccF1",
    "EqualParamsRow",
    "FusionKey",
    "MosiScores",
    "PaperTable",
    "PomScores",
    "RuntimeRow",
    "paper_embedding_row",
    "paper_fusion_row",
    "paper_label",
    "paper_modality_row",
    "paper_row",
]

R = TypeVar("R")

Variant = Literal["base", "lmam", "att", "widened"]
VARIANTS: tuple[Variant, ...] = ("base", "lmam", "att", "widened")
"""``base``: the backbone as published; ``lmam``: with LMAM (the paper's ``*``);
``att``: bc-LSTM+Att; ``widened``: the backbone widened to LMAM's parameter
count (the paper's ``◇``, Table V)."""


@dataclass(frozen=True)
class PaperTable(Generic[R]):
    """One table of the paper."""

    number: str
    """Roman numeral, e.g. ``"II"``."""
    caption: str
    """Short caption."""
    source: str
    """Where the numbers come from, e.g. "Table II of the LMAM paper, trimodal IEMOCAP"."""
    columns: tuple[str, ...]
    """The paper's column labels, in order."""
    rows: Mapping[str, R]
    """Paper row label -> values, in the paper's row order."""


class AccF1(NamedTuple):
    """Accuracy and F1, percent."""

    acc: float
    f1: float


class DatasetsAccF1(NamedTuple):
    """Accuracy and F1 (percent) on IEMOCAP and on MELD."""

    iemocap: AccF1
    meld: AccF1


class MosiScores(NamedTuple):
    """CMU-MOSI, in Table IV's column order: Acc-2 (%), F1 (%), MAE, Corr, Acc-7 (%)."""

    acc2: float
    f1: float
    mae: float
    corr: float
    acc7: float


class PomScores(NamedTuple):
    """POM, in Table IV's column order: MAE, Acc (%), Corr."""

    mae: float
    acc: float
    corr: float


class EqualParamsRow(NamedTuple):
    """Table V: parameters (M) and weighted Acc / F1 (%) on IEMOCAP and MELD."""

    params_m: float
    iemocap: AccF1
    meld: AccF1


class RuntimeRow(NamedTuple):
    """Table VI: parameters (M) and running time (s) on each dataset."""

    params_m: float
    iemocap_s: float
    meld_s: float
    mosi_s: float
    pom_s: float


class ComplexityRow(NamedTuple):
    """Table XII: training time of one epoch (s) and parameters (M)."""

    training_time_s: float
    params_m: float


class FusionKey(NamedTuple):
    """A Table IX row in lmam's terms."""

    fusion: str
    """Registered fusion name (``lmam.list_fusions()``)."""
    lora_base: Literal["random", "emocaps"] | None = None
    """For ``lora``: the frozen base, random (◇) or EmoCaps's pre-trained weights (*)."""


IEMOCAP_CLASSES: tuple[str, ...] = ("happy", "sad", "neutral", "angry", "excited", "frustrated")
"""IEMOCAP's classes as lmam spells them, in the paper's column order (Tables II, VII)."""
MELD_CLASSES: tuple[str, ...] = (
    "neutral",
    "surprise",
    "fear",
    "sadness",
    "joy",
    "disgust",
    "anger",
)
"""MELD's classes as lmam spells them, in the paper's column order (Tables III, VIII)."""
WEIGHTED = "weighted"
"""Key of the weighted average in the rows of Tables II and III."""

MOSI_METRICS: dict[str, str] = {
    "acc2": "acc2",
    "f1": "f1",
    "mae": "mae",
    "corr": "pearson_r",
    "acc7": "acc7",
}
""":class:`MosiScores` field -> lmam's regression metric name."""

SESSION_METRICS: tuple[str, ...] = ("P@5", "P@10", "P@20", "MRR@5", "MRR@10", "MRR@20")
"""Table XIII's columns; also the keys of lmam's session-recommendation metrics."""


def _zip(keys: tuple[str, ...], values: tuple[Any, ...], what: str) -> dict[str, Any]:
    """``keys`` zipped with one table row's ``values``, which must be as many."""
    if len(values) != len(keys):
        raise ValueError(f"expected {len(keys)} {what}, got {len(values)}")
    return dict(zip(keys, values))


def _classes(names: tuple[str, ...], *cells: AccF1) -> dict[str, AccF1]:
    """``names`` + the weighted average zipped with one table row's cells."""
    return _zip((*names, WEIGHTED), cells, "cells")


def _iemocap(*cells: AccF1) -> dict[str, AccF1]:
    return _classes(IEMOCAP_CLASSES, *cells)


def _meld(*cells: AccF1) -> dict[str, AccF1]:
    return _classes(MELD_CLASSES, *cells)


def _p_values(names: tuple[str, ...], *values: float) -> dict[str, float]:
    return _zip(names, values, "p-values")


def _iemocap_p(*values: float) -> dict[str, float]:
    return _p_values(IEMOCAP_CLASSES, *values)


def _meld_p(*values: float) -> dict[str, float]:
    return _p_values(MELD_CLASSES, *values)


A = AccF1

# --------------------------------------------------------------------------
# Table II: IEMOCAP, per class and weighted average, (Acc, F1)
# --------------------------------------------------------------------------

# fmt: off
TABLE_II: PaperTable[dict[str, AccF1]] = PaperTable(
    number="II",
    caption="Results on IEMOCAP; * = with LMAM; per class (Acc., F1) and weighted average",
    source="Table II of the LMAM paper, trimodal IEMOCAP",
    columns=("Happy", "Sad", "Neutral", "Angry", "Excited", "Frustrated", "Average(w)"),
    rows={
        # Happy, Sad, Neutral, Angry, Excited, Frustrated, Average(w)
        "TextCNN": _iemocap(
            A(27.73, 29.81), A(57.14, 53.83), A(34.36, 40.13), A(61.12, 52.47),
            A(46.11, 50.09), A(62.94, 55.78), A(48.89, 48.08),
        ),
        "TextCNN*": _iemocap(
            A(37.24, 37.37), A(81.41, 72.97), A(50.57, 53.95), A(57.21, 62.96),
            A(70.28, 63.87), A(59.01, 59.16), A(60.35, 59.34),
        ),
        "bc-LSTM": _iemocap(
            A(29.16, 34.49), A(57.14, 60.81), A(54.19, 51.80), A(57.03, 56.75),
            A(51.17, 57.98), A(67.12, 58.97), A(55.19, 54.96),
        ),
        "bc-LSTM+Att": _iemocap(
            A(30.56, 35.63), A(56.73, 62.09), A(57.55, 53.00), A(59.41, 59.24),
            A(52.84, 58.85), A(65.88, 59.41), A(56.31, 56.08),
        ),
        "bc-LSTM*": _iemocap(
            A(86.67, 31.52), A(66.43, 73.08), A(63.09, 55.54), A(81.51, 49.79),
            A(68.08, 77.01), A(50.39, 59.31), A(65.55, 60.29),
        ),
        "DialogueRNN": _iemocap(
            A(25.63, 33.11), A(75.14, 78.85), A(58.56, 59.24), A(64.76, 65.23),
            A(80.27, 71.85), A(61.16, 58.97), A(63.40, 62.77),
        ),
        "DialogueRNN*": _iemocap(
            A(63.51, 66.43), A(72.43, 78.64), A(62.94, 59.53), A(78.89, 55.04),
            A(77.00, 77.65), A(55.07, 59.07), A(66.84, 65.79),
        ),
        "DialogueGCN": _iemocap(
            A(40.63, 42.71), A(89.14, 84.45), A(61.97, 63.54), A(67.51, 64.14),
            A(65.46, 63.08), A(64.13, 66.90), A(65.91, 65.62),
        ),
        "DialogueGCN*": _iemocap(
            A(62.60, 59.69), A(76.86, 78.98), A(62.82, 60.06), A(74.40, 63.48),
            A(72.38, 77.93), A(56.40, 58.30), A(66.39, 66.12),
        ),
        "MM-DFN": _iemocap(
            A(40.17, 42.22), A(74.27, 78.98), A(69.13, 66.42), A(70.25, 69.97),
            A(76.99, 75.56), A(68.58, 66.33), A(68.77, 68.20),
        ),
        "MM-DFN*": _iemocap(
            A(74.58, 69.57), A(74.01, 81.03), A(64.93, 63.71), A(73.91, 66.67),
            A(81.40, 80.00), A(59.84, 61.71), A(69.94, 69.69),
        ),
        "M2FNet": _iemocap(
            A(65.92, 60.00), A(79.18, 82.11), A(65.80, 65.88), A(75.37, 68.21),
            A(74.84, 72.60), A(59.87, 68.31), A(69.11, 69.86),
        ),
        "M2FNet*": _iemocap(
            A(73.35, 69.53), A(74.37, 81.42), A(67.26, 63.51), A(72.86, 66.23),
            A(81.57, 81.29), A(59.64, 62.50), A(70.31, 70.07),
        ),
        "EmoCaps": _iemocap(
            A(70.34, 72.86), A(77.39, 82.45), A(64.27, 65.10), A(71.79, 69.14),
            A(84.50, 73.90), A(63.94, 63.41), A(71.22, 70.06),
        ),
        "EmoCaps*": _iemocap(
            A(69.93, 74.31), A(82.52, 85.47), A(68.41, 67.03), A(79.49, 65.26),
            A(84.85, 80.14), A(63.33, 68.38), A(73.67, 73.01),
        ),
    },
)
# fmt: on

# --------------------------------------------------------------------------
# Table III: MELD, per class and weighted average, (Acc, F1)
# --------------------------------------------------------------------------

# fmt: off
TABLE_III: PaperTable[dict[str, AccF1]] = PaperTable(
    number="III",
    caption="Results on MELD; * = with LMAM; per class (Acc., F1) and weighted average",
    source="Table III of the LMAM paper, trimodal MELD (emotion labels)",
    columns=("Neutral", "Surprise", "Fear", "Sadness", "Joy", "Disgust", "Anger", "Average(w)"),
    rows={
        # Neutral, Surprise, Fear, Sadness, Joy, Disgust, Anger, Average(w)
        "TextCNN": _meld(
            A(71.23, 74.91), A(43.35, 45.51), A(4.63, 3.71), A(18.25, 21.17),
            A(46.14, 49.47), A(8.91, 8.36), A(35.33, 34.51), A(52.48, 55.09),
        ),
        "TextCNN*": _meld(
            A(70.23, 75.79), A(36.47, 44.78), A(0.00, 0.00), A(24.19, 21.19),
            A(50.58, 52.46), A(0.00, 0.00), A(43.43, 41.68), A(53.17, 56.55),
        ),
        "bc-LSTM": _meld(
            A(71.45, 73.84), A(46.82, 47.71), A(3.84, 5.46), A(22.47, 25.19),
            A(51.61, 51.34), A(4.31, 5.23), A(36.71, 38.44), A(54.18, 55.89),
        ),
        "bc-LSTM+Att": _meld(
            A(70.45, 75.55), A(46.43, 46.35), A(0.00, 0.00), A(21.77, 16.27),
            A(49.30, 50.72), A(0.00, 0.00), A(41.77, 40.71), A(53.73, 55.82),
        ),
        "bc-LSTM*": _meld(
            A(70.78, 75.46), A(47.18, 46.47), A(0.00, 0.00), A(26.09, 24.58),
            A(52.33, 53.11), A(0.00, 0.00), A(43.23, 40.92), A(54.97, 56.85),
        ),
        "DialogueRNN": _meld(
            A(72.12, 73.54), A(46.42, 49.47), A(1.61, 1.23), A(23.97, 23.83),
            A(52.01, 50.74), A(1.52, 1.73), A(41.01, 41.54), A(55.10, 55.97),
        ),
        "DialogueRNN*": _meld(
            A(71.74, 75.76), A(45.83, 48.23), A(3.13, 2.77), A(31.71, 17.93),
            A(49.25, 53.04), A(2.01, 2.58), A(42.40, 42.21), A(55.27, 56.93),
        ),
        "DialogueGCN": _meld(
            A(75.61, 77.45), A(51.32, 52.76), A(5.14, 10.09), A(30.91, 32.56),
            A(54.31, 56.08), A(11.62, 11.27), A(42.51, 44.65), A(58.74, 60.55),
        ),
        "DialogueGCN*": _meld(
            A(78.19, 77.82), A(52.27, 54.11), A(2.17, 2.31), A(35.79, 36.43),
            A(54.15, 55.07), A(4.05, 2.12), A(48.31, 47.22), A(60.96, 60.98),
        ),
        "MM-DFN": _meld(
            A(78.17, 77.76), A(52.15, 50.69), A(0.00, 0.00), A(25.77, 22.93),
            A(56.19, 54.78), A(0.00, 0.00), A(48.31, 47.82), A(60.30, 59.44),
        ),
        "MM-DFN*": _meld(
            A(77.08, 76.56), A(53.79, 56.84), A(2.07, 4.11), A(38.10, 31.92),
            A(53.63, 50.53), A(4.23, 7.10), A(47.99, 46.08), A(60.65, 59.62),
        ),
        "M2FNet": _meld(
            A(68.88, 67.98), A(72.76, 58.66), A(5.57, 3.45), A(50.09, 47.03),
            A(68.49, 65.50), A(17.69, 25.24), A(57.33, 55.25), A(63.64, 60.87),
        ),
        "M2FNet*": _meld(
            A(68.40, 67.27), A(73.15, 60.37), A(9.13, 11.25), A(51.77, 46.68),
            A(69.11, 65.92), A(15.19, 17.62), A(60.76, 57.31), A(64.13, 60.97),
        ),
        "EmoCaps": _meld(
            A(75.24, 75.12), A(63.57, 63.19), A(3.45, 3.03), A(43.78, 42.52),
            A(58.34, 57.05), A(7.01, 7.69), A(58.79, 57.54), A(63.52, 62.97),
        ),
        "EmoCaps*": _meld(
            A(76.37, 74.28), A(66.57, 64.74), A(3.11, 2.14), A(40.17, 42.35),
            A(63.33, 62.52), A(6.21, 7.05), A(59.45, 60.26), A(64.93, 63.88),
        ),
    },
)
# fmt: on

# --------------------------------------------------------------------------
# Table IV: CMU-MOSI and POM
# --------------------------------------------------------------------------

_TABLE_IV_CAPTION = "Results on CMU-MOSI and POM; * = with LMAM"

TABLE_IV_MOSI: PaperTable[MosiScores] = PaperTable(
    number="IV",
    caption=_TABLE_IV_CAPTION + " (CMU-MOSI columns)",
    source="Table IV of the LMAM paper, CMU-MOSI (sentiment score in [-3, 3])",
    columns=("Acc-2", "F1", "MAE", "Corr", "Acc-7"),
    rows={
        # Acc-2, F1, MAE, Corr, Acc-7
        "TextCNN": MosiScores(62.2, 62.0, 1.42, 0.41, 23.3),
        "TextCNN*": MosiScores(69.7, 69.6, 1.31, 0.49, 24.6),
        "bc-LSTM": MosiScores(73.9, 73.9, 1.08, 0.61, 28.7),
        "bc-LSTM+Att": MosiScores(75.2, 75.2, 1.05, 0.62, 34.6),
        "bc-LSTM*": MosiScores(77.0, 77.1, 0.96, 0.64, 34.7),
        "DialogueRNN": MosiScores(75.7, 75.8, 1.02, 0.62, 34.6),
        "DialogueRNN*": MosiScores(77.4, 77.0, 1.00, 0.67, 34.9),
        "DialogueGCN": MosiScores(74.3, 74.0, 1.06, 0.61, 29.6),
        "DialogueGCN*": MosiScores(74.9, 74.7, 1.04, 0.62, 31.8),
        "MM-DFN": MosiScores(76.7, 76.7, 0.91, 0.68, 33.3),
        "MM-DFN*": MosiScores(77.1, 77.3, 0.89, 0.71, 33.9),
        "M2FNet": MosiScores(78.9, 78.5, 0.87, 0.73, 34.6),
        "M2FNet*": MosiScores(79.6, 79.9, 0.87, 0.75, 35.5),
        "EmoCaps": MosiScores(80.2, 80.3, 0.86, 0.78, 36.7),
        "EmoCaps*": MosiScores(82.7, 82.9, 0.81, 0.89, 38.2),
    },
)

TABLE_IV_POM: PaperTable[PomScores] = PaperTable(
    number="IV",
    caption=_TABLE_IV_CAPTION + " (POM columns)",
    source="Table IV of the LMAM paper, POM",
    columns=("MAE", "Acc", "Corr"),
    rows={
        # MAE, Acc, Corr
        "TextCNN": PomScores(0.88, 34.0, 0.13),
        "TextCNN*": PomScores(0.87, 34.0, 0.21),
        "bc-LSTM": PomScores(0.84, 34.8, 0.28),
        "bc-LSTM+Att": PomScores(0.82, 35.3, 0.30),
        "bc-LSTM*": PomScores(0.80, 39.1, 0.35),
        "DialogueRNN": PomScores(0.81, 36.2, 0.32),
        "DialogueRNN*": PomScores(0.77, 39.3, 0.37),
        "DialogueGCN": PomScores(0.83, 35.0, 0.29),
        "DialogueGCN*": PomScores(0.79, 36.7, 0.35),
        "MM-DFN": PomScores(0.79, 42.5, 0.41),
        "MM-DFN*": PomScores(0.76, 43.1, 0.41),
        "M2FNet": PomScores(0.75, 43.4, 0.41),
        "M2FNet*": PomScores(0.73, 43.6, 0.43),
        "EmoCaps": PomScores(0.71, 43.7, 0.43),
        "EmoCaps*": PomScores(0.63, 44.9, 0.47),
    },
)

# --------------------------------------------------------------------------
# Table V: equal parameters (◇ = widened to the parameter count of *)
# --------------------------------------------------------------------------


def _eq(
    params_m: float, iemocap_acc: float, iemocap_f1: float, meld_acc: float, meld_f1: float
) -> EqualParamsRow:
    return EqualParamsRow(params_m, AccF1(iemocap_acc, iemocap_f1), AccF1(meld_acc, meld_f1))


TABLE_V: PaperTable[EqualParamsRow] = PaperTable(
    number="V",
    caption="Equal parameters on IEMOCAP and MELD; ◇ = widened to the parameter count of *",
    source="Table V of the LMAM paper, trimodal IEMOCAP and MELD (weighted Acc. / F1)",
    columns=("Params", "IEMOCAP Acc.", "IEMOCAP F1", "MELD Acc.", "MELD F1"),
    rows={
        # Params (M), IEMOCAP Acc., F1, MELD Acc., F1
        "bc-LSTM": _eq(0.53, 55.19, 54.96, 54.18, 55.89),
        "bc-LSTM◇": _eq(1.15, 54.37, 52.19, 53.11, 50.93),
        "bc-LSTM*": _eq(1.15, 65.55, 60.29, 54.97, 56.85),
        "MM-DFN": _eq(2.21, 68.77, 68.20, 60.30, 59.44),
        "MM-DFN◇": _eq(2.83, 67.33, 67.02, 60.01, 57.65),
        "MM-DFN*": _eq(2.83, 69.94, 69.69, 60.65, 59.62),
        "M2FNet": _eq(8.47, 69.11, 69.86, 63.64, 60.87),
        "M2FNet◇": _eq(9.09, 69.46, 68.79, 62.49, 60.91),
        "M2FNet*": _eq(9.09, 70.31, 70.07, 64.13, 60.97),
        "EmoCaps": _eq(12.74, 71.22, 71.06, 63.52, 62.97),  # Table II: F1 70.06
        "EmoCaps◇": _eq(13.36, 71.18, 70.56, 62.17, 62.11),
        "EmoCaps*": _eq(13.36, 73.67, 73.01, 64.93, 63.88),
    },
)

# --------------------------------------------------------------------------
# Table VI: parameters (M) and running time (s)
# --------------------------------------------------------------------------

TABLE_VI: PaperTable[RuntimeRow] = PaperTable(
    number="VI",
    caption="Parameter size (M) and running time (s) on IEMOCAP, MELD, CMU-MOSI and POM",
    source="Table VI of the LMAM paper, IEMOCAP, MELD, CMU-MOSI and POM (GeForce RTX 3090)",
    columns=("Params", "IEMOCAP", "MELD", "CMU-MOSI", "POM"),
    rows={
        # Params (M), running time (s): IEMOCAP, MELD, CMU-MOSI, POM
        "TextCNN": RuntimeRow(0.23, 0.68, 1.15, 0.25, 0.11),
        "TextCNN*": RuntimeRow(0.85, 1.65, 2.34, 0.32, 0.14),
        "bc-LSTM": RuntimeRow(0.53, 1.21, 2.17, 0.27, 0.19),
        "bc-LSTM+Att": RuntimeRow(4.7, 4.13, 6.63, 0.83, 0.44),
        "bc-LSTM*": RuntimeRow(1.15, 2.18, 2.89, 0.46, 0.25),
        "DialogueRNN": RuntimeRow(14.47, 47.96, 76.92, 12.56, 7.73),
        "DialogueRNN*": RuntimeRow(15.09, 48.54, 78.43, 13.17, 8.42),
        "DialogueGCN": RuntimeRow(12.92, 56.18, 82.34, 17.48, 9.32),
        "DialogueGCN*": RuntimeRow(13.54, 57.77, 88.53, 18.23, 9.74),
        "MM-DFN": RuntimeRow(2.21, 3.15, 6.17, 1.41, 0.71),
        "MM-DFN*": RuntimeRow(2.83, 3.89, 7.04, 1.83, 0.79),
        "M2FNet": RuntimeRow(8.47, 12.48, 25.16, 3.39, 1.15),
        "M2FNet*": RuntimeRow(9.09, 13.11, 28.33, 3.77, 1.82),
        "EmoCaps": RuntimeRow(12.74, 16.73, 31.07, 4.82, 2.56),
        "EmoCaps*": RuntimeRow(13.36, 17.54, 34.35, 5.14, 3.06),
    },
)

# --------------------------------------------------------------------------
# Tables VII and VIII: paired t-test p-values of each row against its LMAM
# version (F1 over 5 runs), per class
# --------------------------------------------------------------------------

TABLE_VII: PaperTable[dict[str, float]] = PaperTable(
    number="VII",
    caption="Paired t-test p-values per class on IEMOCAP (F1 of 5 runs, row vs. its LMAM version)",
    source="Table VII of the LMAM paper, trimodal IEMOCAP",
    columns=("Happy", "Sad", "Neutral", "Angry", "Excited", "Frustrated"),
    rows={
        # Happy, Sad, Neutral, Angry, Excited, Frustrated
        "TextCNN": _iemocap_p(9.8e-10, 6.0e-10, 6.1e-7, 1.1e-6, 4.8e-7, 4.2e-6),
        "bc-LSTM": _iemocap_p(4.8e-3, 6.7e-4, 3.1e-4, 5.6e-5, 1.7e-3, 3.9e-3),
        "bc-LSTM+Att": _iemocap_p(4.3e-5, 8.9e-8, 5.5e-6, 1.2e-8, 5.9e-7, 3.2e-3),
        "DialogueRNN": _iemocap_p(4.9e-8, 3.4e-2, 2.9e-5, 2.8e-3, 6.4e-8, 1.7e-9),
        "DialogueGCN": _iemocap_p(3.9e-7, 5.2e-8, 5.1e-7, 1.9e-6, 7.3e-3, 9.4e-8),
        "MM-DFN": _iemocap_p(1.0e-8, 4.5e-5, 5.8e-5, 1.1e-5, 6.8e-7, 4.5e-7),
        "M2FNet": _iemocap_p(9.3e-7, 3.5e-3, 1.7e-4, 4.1e-4, 5.8e-7, 1.1e-8),
        "Emocaps": _iemocap_p(5.1e-4, 4.3e-5, 2.1e-4, 7.2e-6, 3.5e-8, 2.6e-7),
    },
)

TABLE_VIII: PaperTable[dict[str, float]] = PaperTable(
    number="VIII",
    caption="Paired t-test p-values per class on MELD (F1 of 5 runs, row vs. its LMAM version)",
    source="Table VIII of the LMAM paper, trimodal MELD (emotion labels)",
    columns=("Neutral", "Surprise", "Fear", "Sadness", "Joy", "Disgust", "Anger"),
    rows={
        # Neutral, Surprise, Fear, Sadness, Joy, Disgust, Anger
        "TextCNN": _meld_p(1.1e-8, 2.9e-3, 1.8e-6, 1.4e-2, 7.6e-5, 2.1e-9, 8.4e-9),
        "bc-LSTM": _meld_p(2.3e-4, 4.3e-3, 2.5e-7, 4.6e-10, 7.8e-4, 1.1e-7, 5.6e-4),
        "bc-LSTM+Att": _meld_p(2.4e-4, 5.1e-3, 2.5e-7, 1.9e-3, 6.6e-4, 2.7e-5, 8.9e-4),
        "DialogueRNN": _meld_p(3.7e-4, 4.9e-3, 2.2e-3, 8.7e-8, 5.4e-5, 2.8e-3, 1.5e-3),
        "DialogueGCN": _meld_p(1.3e-2, 3.4e-4, 1.7e-3, 6.7e-6, 3.7e-3, 1.2e-10, 5.2e-5),
        "MM-DFN": _meld_p(3.7e-3, 7.2e-8, 2.5e-6, 8.9e-10, 6.6e-6, 9.1e-9, 4.7e-3),
        "M2FNet": _meld_p(1.4e-2, 6.9e-4, 7.6e-10, 3.0e-3, 2.9e-2, 9.2e-10, 6.1e-4),
        "Emocaps": _meld_p(6.9e-5, 1.7e-3, 4.4e-3, 4.7e-2, 8.4e-7, 3.9e-2, 5.7e-5),
    },
)

# --------------------------------------------------------------------------
# Table IX: fusion methods on EmoCaps
# --------------------------------------------------------------------------


def _two(iemocap_acc: float, iemocap_f1: float, meld_acc: float, meld_f1: float) -> DatasetsAccF1:
    return DatasetsAccF1(AccF1(iemocap_acc, iemocap_f1), AccF1(meld_acc, meld_f1))


TABLE_IX: PaperTable[DatasetsAccF1] = PaperTable(
    number="IX",
    caption="Cross-modal fusion methods on EmoCaps; LoRA◇ random base, LoRA* EmoCaps's weights",
    source="Table IX of the LMAM paper, trimodal IEMOCAP and MELD, EmoCaps backbone",
    columns=("IEMOCAP Acc.", "IEMOCAP F1", "MELD Acc.", "MELD F1"),
    rows={
        # IEMOCAP Acc., F1, MELD Acc., F1
        "Add": _two(71.3, 71.0, 64.3, 64.0),
        "Concatenate": _two(68.9, 68.1, 62.6, 61.1),
        "TFN": _two(70.8, 70.1, 63.0, 62.8),
        "LFM": _two(72.3, 71.7, 64.1, 62.3),
        "Dual-LMF": _two(72.6, 72.0, 64.8, 63.2),
        "Att-LMF": _two(72.5, 71.3, 64.3, 62.9),
        "LMF-MuLT": _two(72.5, 71.9, 64.6, 62.5),
        "AuxFormer": _two(71.6, 72.1, 63.9, 63.0),
        "CMCF-SRNet": _two(72.3, 71.4, 62.3, 63.3),
        "LoRA◇": _two(60.7, 58.3, 55.6, 57.5),
        "LoRA*": _two(73.3, 73.0, 64.4, 63.5),
        "LMAM (Ours)": _two(73.7, 73.0, 64.9, 63.9),
    },
)

FUSION_KEYS: dict[str, FusionKey] = {
    "Add": FusionKey("add"),
    "Concatenate": FusionKey("concat"),
    "TFN": FusionKey("tfn"),
    "LFM": FusionKey("lmf"),  # the paper's name for LMF (Liu et al., 2018)
    "Dual-LMF": FusionKey("dual_lmf"),
    "Att-LMF": FusionKey("att_lmf"),
    "LMF-MuLT": FusionKey("lmf_mult"),
    "AuxFormer": FusionKey("auxformer"),
    "CMCF-SRNet": FusionKey("cmcf_srnet"),
    "LoRA◇": FusionKey("lora", "random"),
    "LoRA*": FusionKey("lora", "emocaps"),
    "LMAM (Ours)": FusionKey("lmam"),
}
"""Table IX row -> lmam fusion (and LoRA's base)."""

# --------------------------------------------------------------------------
# Table X: modality subsets, EmoCaps with LMAM
# --------------------------------------------------------------------------

TABLE_X: PaperTable[DatasetsAccF1] = PaperTable(
    number="X",
    caption="Uni-, bi- and tri-modal inputs (T text, A audio, V video), EmoCaps with LMAM",
    source="Table X of the LMAM paper, IEMOCAP and MELD, EmoCaps with LMAM",
    columns=("IEMOCAP Acc.", "IEMOCAP F1", "MELD Acc.", "MELD F1"),
    rows={
        # IEMOCAP Acc., F1, MELD Acc., F1
        "T": _two(70.8, 69.2, 63.1, 61.8),
        "A": _two(66.0, 65.3, 60.4, 59.2),
        "V": _two(58.8, 56.8, 53.9, 50.7),
        "T+A": _two(72.3, 71.5, 64.4, 62.7),
        "T+V": _two(70.8, 69.6, 63.5, 62.1),
        "V+A": _two(66.7, 65.8, 61.0, 59.9),
        "T+A+V": _two(73.7, 73.0, 64.9, 63.9),
    },
)

MODALITY_KEYS: dict[str, tuple[str, ...]] = {
    "T": ("text",),
    "A": ("audio",),
    "V": ("visual",),
    "T+A": ("text", "audio"),
    "T+V": ("text", "visual"),
    "V+A": ("audio", "visual"),
    "A+V": ("audio", "visual"),
    "T+A+V": ("text", "audio", "visual"),
}
"""Modality label of Tables X and XIV -> lmam's modality names (in lmam's order)."""

# --------------------------------------------------------------------------
# Table XI: early fusion (*) vs. early fusion with residual connections (*(R))
# --------------------------------------------------------------------------

TABLE_XI: PaperTable[DatasetsAccF1] = PaperTable(
    number="XI",
    caption="LMAM embedded by early fusion (*) and early fusion with residual connections (*(R))",
    source="Table XI of the LMAM paper, trimodal IEMOCAP and MELD (weighted Acc. / F1)",
    columns=("IEMOCAP Acc.", "IEMOCAP F1", "MELD Acc.", "MELD F1"),
    rows={
        # IEMOCAP Acc., F1, MELD Acc., F1
        "bc-LSTM*": _two(59.49, 59.16, 57.69, 55.47),
        "bc-LSTM*(R)": _two(61.77, 60.49, 59.56, 57.49),
        "MM-DFN*": _two(67.93, 67.15, 63.28, 61.12),
        "MM-DFN*(R)": _two(69.82, 69.68, 68.02, 65.24),
        "M2FFNet*": _two(68.35, 57.96, 67.47, 66.59),  # "M2FFNet" as printed: M2FNet
        "M2FFNet*(R)": _two(70.27, 70.07, 68.34, 67.25),
        "EmoCaps*": _two(71.49, 71.01, 65.03, 64.22),
        "EmoCaps*(R)": _two(73.67, 73.01, 64.93, 63.88),
    },
)

TABLE_XI_KEYS: dict[str, tuple[str, str]] = {
    "bc-LSTM*": ("bclstm", "early"),
    "bc-LSTM*(R)": ("bclstm", "early_residual"),
    "MM-DFN*": ("mmdfn", "early"),
    "MM-DFN*(R)": ("mmdfn", "early_residual"),
    "M2FFNet*": ("m2fnet", "early"),
    "M2FFNet*(R)": ("m2fnet", "early_residual"),
    "EmoCaps*": ("emocaps", "early"),
    "EmoCaps*(R)": ("emocaps", "early_residual"),
}
"""Table XI row -> (registered model name, lmam ``embed`` mode of the LMAM module)."""

# --------------------------------------------------------------------------
# Table XII: LMAM vs. self-attention, one epoch on EmoCaps
# --------------------------------------------------------------------------

TABLE_XII: PaperTable[ComplexityRow] = PaperTable(
    number="XII",
    caption="Training time of one epoch and parameters, LMAM vs. self-attention (EmoCaps)",
    source="Table XII of the LMAM paper, EmoCaps architecture (rank 45)",
    columns=("Training time (s)", "Parameters (M)"),
    rows={
        "LMAM": ComplexityRow(17.8, 0.62),
        "Self-attention": ComplexityRow(58.7, 3.42),
    },
)

# --------------------------------------------------------------------------
# Table XIII: session recommendation (DHCN on Diginetica)
# --------------------------------------------------------------------------

TABLE_XIII: PaperTable[dict[str, float]] = PaperTable(
    number="XIII",
    caption="DHCN for session recommendation, P@K and MRR@K (%); * = with LMAM",
    source="Table XIII of the LMAM paper, Diginetica (the paper writes Digetica)",
    columns=SESSION_METRICS,
    rows={
        "DHCN": dict(zip(SESSION_METRICS, (27.24, 39.87, 53.18, 15.28, 17.53, 18.44))),
        "DHCN*": dict(zip(SESSION_METRICS, (28.19, 40.38, 53.70, 16.43, 17.90, 18.69))),
    },
)

# --------------------------------------------------------------------------
# Table XIV: humour detection (C-MFN on UR-FUNNY), accuracy (%)
# --------------------------------------------------------------------------

_XIV_COLUMNS: tuple[str, ...] = ("T", "A+V", "T+A", "T+V", "T+A+V")

TABLE_XIV: PaperTable[dict[str, float]] = PaperTable(
    number="XIV",
    caption="C-MFN for humour detection over modality sets; (C) context only, (P) punchline only",
    source="Table XIV of the LMAM paper, UR-FUNNY (accuracy, %)",
    columns=_XIV_COLUMNS,
    rows={
        # T, A+V, T+A, T+V, T+A+V
        "C-MFN(P)": dict(zip(_XIV_COLUMNS, (62.85, 53.30, 63.28, 63.22, 64.47))),
        "C-MFN(C)": dict(zip(_XIV_COLUMNS, (57.96, 50.23, 57.78, 57.99, 58.45))),
        "C-MFN": dict(zip(_XIV_COLUMNS, (64.44, 57.99, 64.47, 64.22, 65.23))),
        "C-MFN(P)*": dict(zip(_XIV_COLUMNS, (65.43, 59.36, 66.04, 66.59, 66.87))),
        "C-MFN(C)*": dict(zip(_XIV_COLUMNS, (59.46, 53.69, 58.39, 58.68, 59.23))),
        "C-MFN*": dict(zip(_XIV_COLUMNS, (65.66, 59.34, 65.68, 64.97, 67.00))),
    },
)


# --------------------------------------------------------------------------
# Labels of Tables II-VIII in lmam's terms
# --------------------------------------------------------------------------

METHOD_KEYS: dict[str, tuple[str, Variant]] = {
    "TextCNN": ("textcnn", "base"),
    "TextCNN*": ("textcnn", "lmam"),
    "bc-LSTM": ("bclstm", "base"),
    "bc-LSTM+Att": ("bclstm", "att"),
    "bc-LSTM◇": ("bclstm", "widened"),
    "bc-LSTM*": ("bclstm", "lmam"),
    "DialogueRNN": ("dialoguernn", "base"),
    "DialogueRNN*": ("dialoguernn", "lmam"),
    "DialogueGCN": ("dialoguegcn", "base"),
    "DialogueGCN*": ("dialoguegcn", "lmam"),
    "MM-DFN": ("mmdfn", "base"),
    "MM-DFN◇": ("mmdfn", "widened"),
    "MM-DFN*": ("mmdfn", "lmam"),
    "M2FNet": ("m2fnet", "base"),
    "M2FNet◇": ("m2fnet", "widened"),
    "M2FNet*": ("m2fnet", "lmam"),
    "EmoCaps": ("emocaps", "base"),
    "Emocaps": ("emocaps", "base"),  # Tables VII and VIII
    "EmoCaps◇": ("emocaps", "widened"),
    "EmoCaps*": ("emocaps", "lmam"),
}
"""Row label of Tables II-VIII -> (registered model name, variant).

In Tables VII and VIII a row holds the p-values of that method against its
LMAM version (bc-LSTM+Att against bc-LSTM*)."""

MethodTable = Literal["II", "III", "IV-MOSI", "IV-POM", "V", "VI", "VII", "VIII"]

TABLES: dict[str, PaperTable[Any]] = {
    "II": TABLE_II,
    "III": TABLE_III,
    "IV-MOSI": TABLE_IV_MOSI,
    "IV-POM": TABLE_IV_POM,
    "V": TABLE_V,
    "VI": TABLE_VI,
    "VII": TABLE_VII,
    "VIII": TABLE_VIII,
    "IX": TABLE_IX,
    "X": TABLE_X,
    "XI": TABLE_XI,
    "XII": TABLE_XII,
    "XIII": TABLE_XIII,
    "XIV": TABLE_XIV,
}
"""Every table by id (Table IV split into its CMU-MOSI and POM halves)."""

# --------------------------------------------------------------------------
# Accessors
# --------------------------------------------------------------------------


def paper_label(table: MethodTable, backbone: str, variant: str) -> str | None:
    """The row label of ``(backbone, variant)`` in ``table``, or ``None`` if it has none."""
    rows = TABLES[table].rows
    for label, key in METHOD_KEYS.items():
        if key == (backbone, variant) and label in rows:
            return label
    return None


@overload
def paper_row(
    table: Literal["II", "III"], backbone: str, variant: str
) -> dict[str, AccF1] | None: ...
@overload
def paper_row(table: Literal["IV-MOSI"], backbone: str, variant: str) -> MosiScores | None: ...
@overload
def paper_row(table: Literal["IV-POM"], backbone: str, variant: str) -> PomScores | None: ...
@overload
def paper_row(table: Literal["V"], backbone: str, variant: str) -> EqualParamsRow | None: ...
@overload
def paper_row(table: Literal["VI"], backbone: str, variant: str) -> RuntimeRow | None: ...
@overload
def paper_row(
    table: Literal["VII", "VIII"], backbone: str, variant: str
) -> dict[str, float] | None: ...
def paper_row(table: MethodTable, backbone: str, variant: str) -> object | None:
    """The paper's row of ``backbone`` (a registered model name) and ``variant``
    (one of :data:`VARIANTS`) in one of Tables II-VIII, or ``None`` when the
    paper has no such row. ``table`` is ``"II"``, ``"III"``, ``"IV-MOSI"``,
    ``"IV-POM"``, ``"V"``, ``"VI"``, ``"VII"`` or ``"VIII"``.

    Raises:
        KeyError: ``table`` is not one of those.
    """
    if table not in ("II", "III", "IV-MOSI", "IV-POM", "V", "VI", "VII", "VIII"):
        raise KeyError(f"not a table of backbone rows: {table!r}")
    label = paper_label(table, backbone, variant)
    return None if label is None else TABLES[table].rows[label]


def paper_fusion_row(fusion: str, lora_base: str | None = None) -> DatasetsAccF1 | None:
    """Table IX's row of a registered ``fusion`` (for ``lora``, its ``lora_base``:
    ``"random"`` or ``"emocaps"``), or ``None`` when the paper has no such row."""
    for label, key in FUSION_KEYS.items():
        if (key.fusion, key.lora_base) == (fusion, lora_base):
            return TABLE_IX.rows[label]
    return None


def paper_modality_row(modalities: tuple[str, ...] | list[str]) -> DatasetsAccF1 | None:
    """Table X's row of a set of lmam modality names (any order), or ``None``."""
    wanted = frozenset(modalities)
    for label, names in MODALITY_KEYS.items():
        if frozenset(names) == wanted and label in TABLE_X.rows:
            return TABLE_X.rows[label]
    return None


def paper_embedding_row(backbone: str, embed: str) -> DatasetsAccF1 | None:
    """Table XI's row of ``backbone`` with LMAM embedded by ``embed``
    (``"early"`` or ``"early_residual"``), or ``None``."""
    for label, key in TABLE_XI_KEYS.items():
        if key == (backbone, embed):
            return TABLE_XI.rows[label]
    return None
