"""Building the copy of CMU-MOSI that ships with lmam (``src/lmam/resources``).

``python -c "from lmam.data.mosi_bundle import build_bundle; build_bundle('../shared/data/mosi/bclstm', 'src/lmam/resources')"``
writes ``mosi.npz``, ``mosi_sentiment.csv``, ``LICENSE.mosi`` and
``PROVENANCE.mosi`` from the published bc-LSTM files and CMU-MOSI's label file;
:mod:`lmam.data.mosi` reads them.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from lmam.data.dataset import ConversationDataset
from lmam.data.errors import DataError
from lmam.data.lmam_format import save_dataset
from lmam.data.mosi import (
    _LABELS_SOURCE,
    LABELS_FILE,
    LICENCE_FILE,
    SENTIMENT_RESOURCE,
    SENTIMENT_WARNING,
    default_labels,
    read_bclstm,
    read_bundled_sentiment,
    read_sentiment,
)
from lmam.data.sources import file_sha256
from lmam.outputs import atomic_write_text


def _utterance_ids(ds: ConversationDataset) -> list[str]:
    """``<video>_<i + 1>`` of every utterance, in split and utterance order."""
    return [f"{c.id}_{i + 1}" for convs in ds.splits.values() for c in convs for i in range(len(c))]


def _sentiment_csv(ids: list[str], scores: dict[str, float]) -> str:
    """``utterance_id,label`` rows (a label written as the shortest text that reads back
    as the same float)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["utterance_id", "label"])
    w.writerows([uid, repr(scores[uid])] for uid in ids)
    return buf.getvalue()


def build_bundle(source: str | Path, out_dir: str | Path, labels: str | Path | None = None) -> Path:
    """Write ``mosi.npz``, ``mosi_sentiment.csv``, ``LICENSE.mosi`` and ``PROVENANCE.mosi``.

    Args:
        source: the ``bclstm`` folder.
        out_dir: where to write (``src/lmam/resources``).
        labels: CMU-MOSI's ``OpinionLevelSentiment.csv`` (default: :func:`default_labels`).

    Returns:
        the path of ``mosi.npz``.
    """
    source, out_dir = Path(source), Path(out_dir)
    labels = Path(labels) if labels is not None else default_labels(source)
    ds = read_bclstm(source)
    read_bclstm(source, labels, "sentiment")  # every utterance labelled, label >= 0 = binary
    scores, ids = read_sentiment(labels), _utterance_ids(ds)
    out = save_dataset(ds, out_dir / "mosi.npz")
    bundled = out_dir / SENTIMENT_RESOURCE
    atomic_write_text(bundled, _sentiment_csv(ids, scores))
    if read_bundled_sentiment(bundled) != {uid: scores[uid] for uid in ids}:
        raise DataError("the bundled labels differ from the source", file=bundled)
    shutil.copyfile(source / LICENCE_FILE, out_dir / "LICENSE.mosi")
    lines = [
        "CMU-MOSI, bc-LSTM utterance-level features, as bundled in lmam (resources/mosi.npz).",
        "Built by: lmam.data.mosi_bundle.build_bundle(<bclstm directory>, 'src/lmam/resources')",
        "",
        *(f"{k}: {v}" for k, v in ds.provenance.items()),
        "",
        f"warning: {ds.warning}",
        "",
        f"Sentiment labels (resources/{SENTIMENT_RESOURCE}, utterance_id,label; "
        "used with target=sentiment):",
        f"source file: mosi/labels/{LABELS_FILE}, sha256 {file_sha256(labels)}",
        *(f"{k}: {v}" for k, v in _LABELS_SOURCE.items()),
        f"sha256:{SENTIMENT_RESOURCE}: {file_sha256(out_dir / SENTIMENT_RESOURCE)}",
        f"warning (target=sentiment): {SENTIMENT_WARNING}",
    ]
    atomic_write_text(out_dir / "PROVENANCE.mosi", "\n".join(lines) + "\n")
    return out
