"""Derived features: sentence embeddings of transcripts (``lmam features text``)."""

# lmam.data first: it registers the *-text datasets of lmam.features.datasets, which
# needs lmam.data complete (imported the other way round, the two meet half-made)
import lmam.data  # noqa: F401  isort: skip

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
