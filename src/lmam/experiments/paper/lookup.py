"""The paper's numbers for a row of a reproduced table (``None``: the paper has no such row).

A thin lookup over :mod:`lmam.experiments.paper` keyed the way the
reproduced tables are: the paper's dataset (:func:`family`), the backbone and
its variant (``base``, ``lmam``, ``att``, ``widened``). Percentages stay
percentages, as printed.
"""

from __future__ import annotations

from lmam.data.registry import list_datasets
from lmam.experiments import paper

FAMILIES = ("iemocap", "meld", "mosi", "pom")

NOTES = {
    "iemocap": "Paper: trimodal IEMOCAP (text, audio, visual); ours here is what the "
    "dataset given has (`iemocap-text`: text only).",
    "meld": "Paper: trimodal MELD; ours here is what the dataset given has "
    "(`meld-text`: text only).",
    "mosi": "Paper: CMU-MOSI with the standard split; ours: the bc-LSTM 62/31-video split "
    "of the utterance-level features, regression on the continuous labels.",
    "pom": "Paper: POM; ours: the MFN files' audio and visual sequences (no text), 17 "
    "trait scores; the paper's Acc is not defined for them here.",
}


def family(dataset: str) -> str | None:
    """Which of the paper's datasets ``dataset`` stands for, or ``None``.

    A registered name starting with ``iemocap``, ``meld``, ``mosi`` or ``pom``, or
    a path whose file name contains one of them (``IEMOCAP_features.pkl``).
    """
    name = dataset.lower()
    if dataset in list_datasets():
        return next((f for f in FAMILIES if name.startswith(f)), None)
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    return next((f for f in FAMILIES if f in stem), None)


def note(fam: str | None) -> str:
    """How our data differ from the paper's for this dataset."""
    return NOTES.get(fam or "", "The paper has no results on this dataset.")


def classification(
    fam: str | None, backbone: str, variant: str
) -> dict[str, tuple[float, float]] | None:
    """Tables II-III: ``{class or "weighted": (acc, f1)}`` in percent."""
    table = {"iemocap": "II", "meld": "III"}.get(fam or "")
    if table is None:
        return None
    row = paper.paper_row(table, backbone, variant)  # type: ignore[call-overload]
    return None if row is None else {k: (v.acc, v.f1) for k, v in row.items()}


def regression(fam: str | None, backbone: str, variant: str) -> dict[str, float] | None:
    """Table IV: ``{metric: value}`` with lmam's metric names (``pearson_r``, ``acc2`` ...)."""
    if fam == "mosi":
        m = paper.paper_row("IV-MOSI", backbone, variant)
        if m is None:
            return None
        return {"acc2": m.acc2, "f1": m.f1, "mae": m.mae, "pearson_r": m.corr, "acc7": m.acc7}
    if fam == "pom":
        p = paper.paper_row("IV-POM", backbone, variant)
        return None if p is None else {"mae": p.mae, "accuracy": p.acc, "pearson_r": p.corr}
    return None


def widened(fam: str | None, backbone: str, variant: str) -> tuple[float, float, float] | None:
    """Table V: ``(parameters in M, acc, f1)``."""
    row = paper.paper_row("V", backbone, variant)
    if row is None or fam not in ("iemocap", "meld"):
        return None
    scores = row.iemocap if fam == "iemocap" else row.meld
    return row.params_m, scores.acc, scores.f1


def cost(fam: str | None, backbone: str, variant: str) -> tuple[float, float] | None:
    """Table VI: ``(parameters in M, seconds per epoch)``; time is per dataset."""
    row = paper.paper_row("VI", backbone, variant)
    if row is None or fam is None:
        return None
    seconds = {"iemocap": row.iemocap_s, "meld": row.meld_s, "mosi": row.mosi_s, "pom": row.pom_s}
    return row.params_m, seconds[fam]


def pvalues(fam: str | None, backbone: str, variant: str) -> dict[str, float] | None:
    """Tables VII-VIII: ``{class: p}``."""
    table = {"iemocap": "VII", "meld": "VIII"}.get(fam or "")
    if table is None:
        return None
    return paper.paper_row(table, backbone, variant)  # type: ignore[call-overload]


def _pick(row: paper.DatasetsAccF1 | None, fam: str | None) -> tuple[float, float] | None:
    if row is None or fam not in ("iemocap", "meld"):
        return None
    scores = row.iemocap if fam == "iemocap" else row.meld
    return scores.acc, scores.f1


def fusion(fam: str | None, key: str) -> tuple[float, float] | None:
    """Table IX: ``(acc, f1)`` of a row key of our Table IX (a fusion name, ``lora_star``,
    or ``emocaps-lmam``: the paper's LMAM row is EmoCaps*)."""
    if key == "emocaps-lmam":
        return _pick(paper.paper_fusion_row("lmam"), fam)
    if key == "lmam":  # LMAM in the slot: the paper has no such row
        return None
    if key == "lora":
        return _pick(paper.paper_fusion_row("lora", "random"), fam)
    if key == "lora_star":
        return _pick(paper.paper_fusion_row("lora", "emocaps"), fam)
    return _pick(paper.paper_fusion_row(key), fam)


def modalities(fam: str | None, key: str) -> tuple[float, float] | None:
    """Table X: ``(acc, f1)`` of a modality subset written ``T+A``."""
    names = {"T": "text", "A": "audio", "V": "visual"}
    return _pick(paper.paper_modality_row([names[k] for k in key.split("+")]), fam)


def embedding(fam: str | None, backbone: str, residual: bool) -> tuple[float, float] | None:
    """Table XI: ``(acc, f1)`` of the backbone with LMAM at early fusion (``residual``: with it)."""
    embed = "early_residual" if residual else "early"
    return _pick(paper.paper_embedding_row(backbone, embed), fam)


def self_attention() -> dict[str, tuple[float, float]]:
    """Table XII: ``{"lmam" | "self_attention": (seconds per epoch, parameters in M)}``."""
    rows = paper.TABLE_XII.rows
    out = {}
    for label, row in rows.items():
        key = "lmam" if label.lower().startswith("lmam") else "self_attention"
        out[key] = (row.training_time_s, row.params_m)
    return out
