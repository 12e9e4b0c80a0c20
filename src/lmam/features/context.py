"""An utterance's text with the utterances before it, for a context-aware sentence encoder.

Fine-tuning an utterance encoder on its dialogue's preceding turns is what the
strongest text-only ERC recipes do (EmoBERTa, Kim and Vossen 2021; CoMPM, Lee
and Lee 2022): the encoder reads the current utterance together with what was
said before it. Here the current utterance comes *first* and the earlier ones
follow, most recent first, so that truncating the tokens from the right drops
the oldest context, never the utterance itself::

    A: current [SEP] B: previous [SEP] A: the one before

Speakers are named by letter relative to the current utterance: ``A`` is its
speaker, ``B``, ``C``, ... the others in the order they are met going back. The
names of the data's speakers never appear, so that a model trained on one
dataset's speaker ids reads another's the same way, and only the past is read,
so that an utterance's text is the same offline and online.
"""

from __future__ import annotations

from collections.abc import Sequence

SEPARATOR = " [SEP] "
"""Between the utterances (``[SEP]`` is one token of the BERT word-piece vocabulary)."""


def contextual_texts(
    texts: Sequence[str], speakers: Sequence[object] | None, context: int
) -> list[str]:
    """Each utterance followed by up to ``context`` earlier ones of its dialogue.

    Args:
        texts: ``(T,)`` one dialogue's utterances, in order.
        speakers: ``(T,)`` who says each (any hashable ids), or ``None`` (no names).
        context: how many earlier utterances to add; 0 gives ``texts`` unchanged.

    Returns:
        ``(T,)`` strings.

    Raises:
        ValueError: ``context`` is negative or ``speakers`` has another length.
    """
    if context < 0:
        raise ValueError(f"context must be >= 0, got {context}")
    if speakers is not None and len(speakers) != len(texts):
        raise ValueError(f"{len(speakers)} speakers for {len(texts)} texts")
    if context == 0:
        return list(texts)
    out: list[str] = []
    for i in range(len(texts)):
        names: dict[object, str] = {}
        parts: list[str] = []
        for j in range(i, max(-1, i - context - 1), -1):
            if speakers is None:
                parts.append(texts[j])
                continue
            name = names.setdefault(speakers[j], _letter(len(names)))
            parts.append(f"{name}: {texts[j]}")
        out.append(SEPARATOR.join(parts))
    return out


def _letter(k: int) -> str:
    return chr(ord("A") + k) if k < 26 else f"S{k}"
