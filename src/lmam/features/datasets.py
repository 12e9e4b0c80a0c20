"""The registered text-feature datasets: ``iemocap-text`` and ``meld-text``.

Each reads its source (fast), then returns the cached embedded dataset, building
it on first use (about a minute on two CPU cores). Options: ``cache_dir``,
``batch_size``, ``progress``, ``text_encoder`` (``minilm``, the default,
``e5-small`` or ``mpnet``; :data:`~lmam.features.text.ENCODERS`), ``encoder`` (a
:class:`TextEncoder`, e.g. for tests), and ``fine_tune`` (fine-tune the encoder
on the training labels first, selected on validation;
:mod:`lmam.features.finetune`) with ``fine_tune_epochs``,
``fine_tune_lr``, ``fine_tune_seed``, ``fine_tune_context`` (earlier utterances
read with each; :mod:`lmam.features.context`) and ``fine_tune_folds`` (cross-fitted
training features; :class:`~lmam.features.finetune.FineTune`). Each utterance's
words come too where all-MiniLM-L6-v2's tokenizer is installed, as the modality
``words`` (:mod:`lmam.features.words`), which only a model that names it reads.
"""

from __future__ import annotations

from pathlib import Path

from lmam.data.dataset import ConversationDataset
from lmam.data.meld_csv import is_meld_csv_dir, read_meld_csv
from lmam.data.registry import create_dataset, register_dataset
from lmam.features.finetune import asked_fine_tuning
from lmam.features.text import TEXT_BATCH, TextEncoder, cached_text_dataset, check_encoder
from lmam.features.words import maybe_with_words


@register_dataset(
    "iemocap-text",
    "IEMOCAP transcripts embedded by all-MiniLM-L6-v2 (384-d text; extra 'text'; "
    "text_encoder=e5-small: extra 'e5'; text_encoder=mpnet: all-mpnet-base-v2)",
)
def load_iemocap_text(
    path: Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    batch_size: int = TEXT_BATCH,
    progress: bool = True,
    encoder: TextEncoder | None = None,
    fine_tune: bool = False,
    fine_tune_epochs: int = 4,
    fine_tune_lr: float = 2e-5,
    fine_tune_seed: int = 0,
    fine_tune_context: int = 0,
    fine_tune_folds: int = 0,
    text_encoder: str = "minilm",
) -> ConversationDataset:
    """IEMOCAP transcripts (``cosmic_iemocap.pkl`` or its directory) embedded, 384-d text.

    Splits as published in that file: train 108, valid 12, test 31 dialogues.
    """
    check_encoder(text_encoder, "text_encoder", fine_tune)  # before any file is read
    fine_tuning = asked_fine_tuning(
        fine_tune,
        fine_tune_epochs,
        fine_tune_lr,
        fine_tune_seed,
        fine_tune_context,
        fine_tune_folds,
        flags=False,
    )
    source = create_dataset("iemocap-transcripts", path)
    embedded = cached_text_dataset(
        source,
        "iemocap-text",
        encoder=encoder,
        cache=cache_dir,
        batch_size=batch_size,
        progress=progress,
        fine_tuning=fine_tuning,
        text_encoder=text_encoder,
    )
    return maybe_with_words(embedded)


@register_dataset(
    "meld-text",
    "MELD transcripts (pickle or CSVs) embedded by all-MiniLM-L6-v2 (extra 'text'; "
    "text_encoder=e5-small: extra 'e5'; text_encoder=mpnet: all-mpnet-base-v2)",
)
def load_meld_text(
    path: Path | None = None,
    *,
    labels: str = "emotion",
    cache_dir: str | Path | None = None,
    batch_size: int = TEXT_BATCH,
    progress: bool = True,
    encoder: TextEncoder | None = None,
    fine_tune: bool = False,
    fine_tune_epochs: int = 4,
    fine_tune_lr: float = 2e-5,
    fine_tune_seed: int = 0,
    fine_tune_context: int = 0,
    fine_tune_folds: int = 0,
    text_encoder: str = "minilm",
) -> ConversationDataset:
    """MELD embedded, 384-d text: from ``cosmic_meld.pkl`` (or its directory) or MELD's CSVs.

    A directory holding ``train_sent_emo.csv``, ``dev_sent_emo.csv`` and
    ``test_sent_emo.csv`` is read as MELD's CSV release; anything else as the
    transcripts pickle. ``labels``: ``"emotion"`` or ``"sentiment"``.
    """
    check_encoder(text_encoder, "text_encoder", fine_tune)  # before any file is read
    fine_tuning = asked_fine_tuning(
        fine_tune,
        fine_tune_epochs,
        fine_tune_lr,
        fine_tune_seed,
        fine_tune_context,
        fine_tune_folds,
        flags=False,
    )
    if path is not None and is_meld_csv_dir(path):
        source = read_meld_csv(path, labels=labels)
    else:
        source = create_dataset("meld-transcripts", path, labels=labels)
    embedded = cached_text_dataset(
        source,
        "meld-text",
        encoder=encoder,
        cache=cache_dir,
        batch_size=batch_size,
        progress=progress,
        fine_tuning=fine_tuning,
        text_encoder=text_encoder,
    )
    return maybe_with_words(embedded)
