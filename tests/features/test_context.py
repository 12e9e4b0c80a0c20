"""An utterance's text with the utterances before it (``lmam.features.context``)."""

from __future__ import annotations

import pytest

from lmam.features.context import SEPARATOR, contextual_texts

TEXTS = ["hi", "yo", "ok", "no", "fine"]
SPEAKERS = [7, 3, 7, 9, 7]


def reference(texts: list[str], speakers: list[int], context: int) -> list[str]:
    """A plain reading of the format: current first, then back in time, speakers
    lettered in the order met from the current utterance."""
    out = []
    for i in range(len(texts)):
        seen: list[int] = []
        parts = []
        for j in range(i, i - context - 1, -1):
            if j < 0:
                break
            if speakers[j] not in seen:
                seen.append(speakers[j])
            parts.append("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[seen.index(speakers[j])] + ": " + texts[j])
        out.append(SEPARATOR.join(parts))
    return out


@pytest.mark.parametrize("context", [1, 2, 3, 10])
def test_matches_a_plain_reference(context: int) -> None:
    assert contextual_texts(TEXTS, SPEAKERS, context) == reference(TEXTS, SPEAKERS, context)


def test_the_current_utterance_comes_first_and_the_oldest_last() -> None:
    got = contextual_texts(TEXTS, SPEAKERS, 2)
    assert got[0] == "A: hi"  # nothing before the first utterance
    assert got[3] == "A: no [SEP] B: ok [SEP] C: yo"  # speaker 9 is A here, 7 is B
    assert got[4] == "A: fine [SEP] B: no [SEP] A: ok"
    # only the past is read: an utterance's text does not change when more follow
    assert contextual_texts(TEXTS[:3], SPEAKERS[:3], 2) == got[:3]


def test_speaker_ids_never_appear_and_relabelling_them_changes_nothing() -> None:
    renamed = {7: "Joey", 3: "Ross", 9: "Monica"}
    a = contextual_texts(TEXTS, SPEAKERS, 3)
    b = contextual_texts(TEXTS, [renamed[s] for s in SPEAKERS], 3)
    assert a == b and not any("Joey" in t for t in b)


def test_no_context_is_the_texts_unchanged_and_no_speakers_no_names() -> None:
    assert contextual_texts(TEXTS, SPEAKERS, 0) == TEXTS
    assert contextual_texts(TEXTS, None, 1)[1] == "yo [SEP] hi"


def test_more_than_26_speakers() -> None:
    got = contextual_texts([str(k) for k in range(30)], list(range(30)), 29)
    assert got[-1].split(SEPARATOR)[-1] == "S29: 0"


@pytest.mark.parametrize(
    ("speakers", "context", "message"),
    [(SPEAKERS, -1, "context must be >= 0"), (SPEAKERS[:2], 1, "2 speakers for 5 texts")],
)
def test_bad_input(speakers: list[int], context: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        contextual_texts(TEXTS, speakers, context)
