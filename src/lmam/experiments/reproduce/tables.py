"""The paper's tables and Fig. 5: :data:`TABLES`, each a function of a :class:`Setting`.

Every function trains (or reuses) the runs it needs through
:meth:`Setting.run` and returns a :class:`Report` with our numbers and,
where the paper has the same row, the paper's beside them. Runs are shared
between tables (see :mod:`lmam.experiments.reproduce.variants`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lmam.experiments.reproduce.ablations import (
    embedding,
    equal_parameters,
    fusions,
    modality_ablation,
    rank_sweep,
    self_attention,
)
from lmam.experiments.reproduce.backbone_tables import cost, plug_and_play, significance
from lmam.experiments.reproduce.report import Report
from lmam.experiments.reproduce.setting import Setting


@dataclass(frozen=True)
class Table:
    """A reproducible table: what it is, its default datasets and seeds, and its function."""

    caption: str
    datasets: tuple[str, ...]
    seeds: int
    make: Callable[[str, Setting], Report]


TABLES: dict[str, Table] = {
    "table2": Table(
        "IEMOCAP, every backbone ± LMAM, per class", ("iemocap-text",), 5, plug_and_play
    ),
    "table3": Table("MELD, every backbone ± LMAM, per class", ("meld-text",), 5, plug_and_play),
    "table4": Table("CMU-MOSI and POM, every backbone ± LMAM", ("mosi", "pom"), 5, plug_and_play),
    "table5": Table(
        "equal parameters (widened backbones)", ("iemocap-text", "meld-text"), 3, equal_parameters
    ),
    "table6": Table(
        "parameters and seconds per epoch", ("iemocap-text", "meld-text", "mosi", "pom"), 5, cost
    ),
    "table7": Table("paired t-tests per class, IEMOCAP", ("iemocap-text",), 5, significance),
    "table8": Table("paired t-tests per class, MELD", ("meld-text",), 5, significance),
    "table9": Table("every fusion in EmoCaps' slot", ("iemocap-text", "meld-text"), 3, fusions),
    "table10": Table("modality ablation of EmoCaps*", ("mosi",), 3, modality_ablation),
    "table11": Table("early vs early with residual", ("iemocap-text", "meld-text"), 3, embedding),
    "table12": Table("LMAM vs self-attention in EmoCaps", ("iemocap-text",), 3, self_attention),
    "fig5": Table("accuracy against LMAM's rank", ("iemocap-text",), 3, rank_sweep),
}
"""Every table ``lmam reproduce`` makes. Seeds: 5 where t-tests are drawn from the
runs (Tables II-IV feed VII-VIII, and VI reads the same runs), 3 elsewhere."""
