"""Derived features: sentence embeddings of transcripts (``lmam features text``)."""

from lmam.features import datasets as _datasets  # noqa: F401  (registers "iemocap-text", "meld-text")
from lmam.features.text import (
    TextEncoder,
    cache_dir,
    cached_text_dataset,
    embed_dataset,
    embed_texts,
    load_encoder,
)

__all__ = [
    "TextEncoder",
    "cache_dir",
    "cached_text_dataset",
    "embed_dataset",
    "embed_texts",
    "load_encoder",
]
