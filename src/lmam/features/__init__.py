"""Derived features: sentence embeddings of transcripts (``lmam features text``) and
the words of each utterance (:mod:`lmam.features.words`, read by Kim's CNN)."""

from lmam.features import datasets as _datasets  # noqa: F401  (registers "iemocap-text", "meld-text")
from lmam.features.text import (
    TextEncoder,
    cache_dir,
    cached_text_dataset,
    embed_dataset,
    embed_texts,
    load_encoder,
)
from lmam.features.words import with_words, word_ids, word_vectors

__all__ = [
    "TextEncoder",
    "cache_dir",
    "cached_text_dataset",
    "embed_dataset",
    "embed_texts",
    "load_encoder",
    "with_words",
    "word_ids",
    "word_vectors",
]
