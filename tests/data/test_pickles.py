"""Readers of the ERC feature pickles and the COSMIC transcripts, on fixtures and real data."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lmam.data import DataError, create_dataset, sources
from lmam.data.erc_pickles import read_erc_pickle
from lmam.data.transcripts import read_transcripts
from tests.data import erc_fixtures as fx

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def write(tmp_path: Path, obj: object, name: str = "feats.pkl") -> Path:
    return fx.write(tmp_path / name, obj)


def counts(ds) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    return {s: (len(c), sum(len(x) for x in c)) for s, c in ds.splits.items()}


# --- each layout -----------------------------------------------------------------------


def test_classic_iemocap(tmp_path: Path) -> None:
    raw = fx.classic_iemocap()
    ds = read_erc_pickle(write(tmp_path, raw))
    assert ds.label_names == ["happy", "sad", "neutral", "angry", "excited", "frustrated"]
    assert ds.modalities == fx.WIDTHS
    assert [len(ds.train), len(ds.valid), len(ds.test)] == [9, 1, 2]
    assert [c.id for c in ds.test] == fx.IEMOCAP_TEST
    assert "classic" in ds.provenance["layout"] and ds.provenance["dataset"] == "IEMOCAP"
    assert ds.provenance["valid"].startswith("carved from trainVid: 10%")
    conv = next(c for c in ds.test if c.id == "Ses05F_impro01")
    speakers, labels, text = raw[1], raw[2], raw[3]
    assert conv.speakers.tolist() == [0 if s == "M" else 1 for s in speakers["Ses05F_impro01"]]
    assert conv.labels.tolist() == labels["Ses05F_impro01"]
    np.testing.assert_allclose(conv.feats["text"], np.stack(text["Ses05F_impro01"]), rtol=1e-6)
    assert conv.feats["visual"].dtype == np.float32
    assert conv.texts is not None and conv.texts[0] == "it’s line 0 of Ses05F_impro01"


def test_valid_split_is_seeded_and_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, fx.classic_iemocap())
    a = read_erc_pickle(path, seed=3)
    b = read_erc_pickle(path, seed=3)
    assert [c.id for c in a.valid] == [c.id for c in b.valid]
    seeds = {tuple(c.id for c in read_erc_pickle(path, seed=s).valid) for s in range(6)}
    assert len(seeds) > 1
    big = read_erc_pickle(path, valid_fraction=0.3)
    assert (len(big.train), len(big.valid)) == (7, 3)
    assert not {c.id for c in big.train} & {c.id for c in big.valid}
    with pytest.raises(ValueError, match="valid_fraction must be in"):
        read_erc_pickle(path, valid_fraction=1.5)


def test_dataset_name_is_a_safe_file_stem(tmp_path: Path) -> None:
    ds = read_erc_pickle(write(tmp_path, fx.classic_iemocap(), "IEMOCAP features.v2.pkl"))
    assert ds.name == "IEMOCAP_features_v2"


def test_classic_meld_emotion_and_sentiment(tmp_path: Path) -> None:
    raw = fx.classic_meld()
    path = write(tmp_path, raw)
    ds = read_erc_pickle(path)
    assert ds.label_names[:2] == ["neutral", "surprise"] and ds.num_classes == 7
    assert ds.provenance["dataset"] == "MELD"
    conv = next(c for c in ds.test if c.id == "1153")
    assert conv.speakers.tolist() == [i % 3 for i in range(len(conv))]
    assert conv.labels.tolist() == raw[2][1153]
    sent = read_erc_pickle(path, labels="sentiment")
    assert sent.label_names == ["neutral", "positive", "negative"]
    assert next(c for c in sent.test if c.id == "1153").labels.tolist() == raw[9][1153]


def test_meld_text_audio(tmp_path: Path) -> None:
    raw = fx.meld_text_audio()
    ds = read_erc_pickle(write(tmp_path, raw))
    assert ds.modalities == {"text": 6, "audio": 4}
    assert "text+audio" in ds.provenance["layout"]
    sent = read_erc_pickle(write(tmp_path, raw), labels="sentiment")
    assert next(c for c in sent.train if c.id == "3").labels.tolist() == raw[8][3]


def test_roberta_iemocap_text_modes(tmp_path: Path) -> None:
    raw = fx.roberta_iemocap()
    path = write(tmp_path, raw)
    key = fx.IEMOCAP_TEST[0]
    four = [np.stack(raw[i][key]) for i in (3, 4, 5, 6)]
    mean = read_erc_pickle(path)
    assert mean.modalities == {"text": 8, "audio": 4, "visual": 5}
    assert mean.provenance["text"] == "mean of text1..text4"
    got = next(c for c in mean.test if c.id == key).feats["text"]
    np.testing.assert_allclose(got, np.mean(four, axis=0), rtol=1e-5)
    concat = read_erc_pickle(path, text="concat")
    assert concat.modalities["text"] == 32
    one = read_erc_pickle(path, text="text3")
    np.testing.assert_allclose(
        next(c for c in one.test if c.id == key).feats["text"], four[2], rtol=1e-6
    )
    with pytest.raises(ValueError, match="text must be one of"):
        read_erc_pickle(path, text="sum")


def test_roberta_meld(tmp_path: Path) -> None:
    raw = fx.roberta_meld()
    ds = read_erc_pickle(write(tmp_path, raw), labels="sentiment")
    assert ds.num_classes == 3 and ds.modalities["text"] == 8
    assert next(c for c in ds.test if c.id == "1154").labels.tolist() == raw[12][1154]


def test_iemocap_has_no_sentiment(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="emotion labels only"):
        read_erc_pickle(write(tmp_path, fx.classic_iemocap()), labels="sentiment")


def test_transcripts_pickle_through_the_generic_reader(tmp_path: Path) -> None:
    ds = read_erc_pickle(write(tmp_path, fx.cosmic_iemocap()))
    assert ds.name == "iemocap-transcripts" and ds.modalities == {}


# --- bad data: DataError naming file, dialogue and field --------------------------------


def expect(path: Path, dialogue: str | None, field: str | None, words: str) -> DataError:
    with pytest.raises(DataError) as info:
        read_erc_pickle(path)
    err = info.value
    assert (err.file, err.dialogue, err.field) == (str(path), dialogue, field), str(err)
    assert words in str(err), str(err)
    return err


def damaged(part: str, change) -> tuple:  # type: ignore[no-untyped-def]
    parts = fx.iemocap_parts()
    change(parts[part])
    return tuple(parts[f] for f in fx.CLASSIC)


def test_lengths_disagree(tmp_path: Path) -> None:
    raw = damaged("videoAudio", lambda d: d["Ses05F_impro01"].pop())
    expect(write(tmp_path, raw), "Ses05F_impro01", "videoAudio", "rows but")


def test_labels_length_disagrees(tmp_path: Path) -> None:
    raw = damaged("videoLabels", lambda d: d["Ses05F_impro01"].append(1))
    expect(write(tmp_path, raw), "Ses05F_impro01", "videoLabels", "labels but")


def test_non_finite_feature(tmp_path: Path) -> None:
    def poison(d: dict) -> None:
        d["Ses05F_impro01"][1, 2] = np.nan

    expect(
        write(tmp_path, damaged("videoVisual", poison)),
        "Ses05F_impro01",
        "videoVisual",
        "nan at utterance 1",
    )


def test_label_out_of_range(tmp_path: Path) -> None:
    def bad(d: dict) -> None:
        d["Ses05F_impro01"][0] = 6

    expect(
        write(tmp_path, damaged("videoLabels", bad)),
        "Ses05F_impro01",
        "videoLabels",
        "out of range",
    )


def test_ragged_features_in_a_dialogue(tmp_path: Path) -> None:
    def ragged(d: dict) -> None:
        d["Ses05F_impro01"][2] = np.zeros(5)

    expect(
        write(tmp_path, damaged("videoText", ragged)),
        "Ses05F_impro01",
        "videoText",
        "utterance 2 has 5 features",
    )


def test_inconsistent_width_across_dialogues(tmp_path: Path) -> None:
    def wide(d: dict) -> None:
        d["Ses05F_impro01"] = [np.zeros(7) for _ in d["Ses05F_impro01"]]

    expect(write(tmp_path, damaged("videoText", wide)), "Ses05F_impro01", "videoText", "width 7")


def test_missing_entry(tmp_path: Path) -> None:
    raw = damaged("videoAudio", lambda d: d.pop("Ses05M_script01_1"))
    expect(write(tmp_path, raw), "Ses05M_script01_1", "videoAudio", "no entry")


def test_unknown_speaker(tmp_path: Path) -> None:
    def other(d: dict) -> None:
        d["Ses05F_impro01"][1] = "X"

    expect(
        write(tmp_path, damaged("videoSpeakers", other)),
        "Ses05F_impro01",
        "videoSpeakers",
        "'X' at utterance 1",
    )


def test_empty_dialogue(tmp_path: Path) -> None:
    parts = fx.iemocap_parts()
    for f in ("videoSpeakers", "videoLabels", "videoText", "videoAudio", "videoSentence"):
        parts[f]["Ses05F_impro01"] = []  # type: ignore[index]
    parts["videoVisual"]["Ses05F_impro01"] = np.zeros((0, 5))  # type: ignore[index]
    raw = tuple(parts[f] for f in fx.CLASSIC)
    expect(write(tmp_path, raw), "Ses05F_impro01", "videoSpeakers", "empty dialogue")


def test_duplicate_ids(tmp_path: Path) -> None:
    parts = fx.iemocap_parts()
    parts["testVid"] = [*fx.IEMOCAP_TEST, fx.IEMOCAP_TEST[0]]
    expect(
        write(tmp_path, tuple(parts[f] for f in fx.CLASSIC)),
        fx.IEMOCAP_TEST[0],
        "trainVid/testVid",
        "duplicate",
    )


def test_id_in_two_splits(tmp_path: Path) -> None:
    parts = fx.iemocap_parts()
    parts["testVid"] = [*fx.IEMOCAP_TEST, fx.IEMOCAP_TRAIN[0]]
    expect(
        write(tmp_path, tuple(parts[f] for f in fx.CLASSIC)),
        fx.IEMOCAP_TRAIN[0],
        "trainVid/testVid",
        "two splits",
    )


def test_meld_speaker_not_one_hot(tmp_path: Path) -> None:
    raw = list(fx.classic_meld())
    raw[1][3][0] = [1, 1, 0, 0, 0, 0, 0, 0, 0]
    expect(write(tmp_path, tuple(raw)), "3", "videoSpeakers", "not one-hot")


def test_split_ids_not_a_list(tmp_path: Path) -> None:
    parts = fx.iemocap_parts()
    parts["testVid"] = 5
    expect(
        write(tmp_path, tuple(parts[f] for f in fx.CLASSIC)),
        None,
        "testVid",
        "list of dialogue ids",
    )


@pytest.mark.parametrize("obj", [(1, 2, 3, 4, 5), {"a": 1}, [{}, {}, {}, {}], "text"])
def test_unknown_layout_points_to_the_known_ones(tmp_path: Path, obj: object) -> None:
    from lmam.data.erc_layouts import known_layouts

    err = expect(write(tmp_path, obj), None, None, "unknown layout")
    # the message counts them and says where they are listed (not a 1,400-character line)
    assert f"{len(known_layouts())} known layouts (lmam data layouts lists them)" in str(err)
    listed = " ".join(known_layouts())
    for words in (
        "IEMOCAP_features.pkl",
        "MELD_features_raw.pkl",
        "iemocap_multimodal_features.pkl",
        "cosmic_meld.pkl",
    ):
        assert words in listed


def test_code_in_a_feature_pickle_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "ran"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {target}",))

    raw = list(fx.classic_iemocap())
    raw[0] = {"x": Evil()}
    err = expect(write(tmp_path, tuple(raw)), None, None, "refused")
    assert "system" in str(err)
    assert not target.exists()


# --- provenance -------------------------------------------------------------------------


def test_unrecognised_file_gets_its_sha256(tmp_path: Path) -> None:
    path = write(tmp_path, fx.classic_iemocap())
    ds = read_erc_pickle(path)
    digest = sources.file_sha256(path)
    assert ds.provenance["sha256"] == digest
    assert ds.provenance["recognised_as"] == f"unrecognised file (sha256 {digest})"


def test_published_file_is_recognised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, fx.classic_iemocap())
    monkeypatch.setitem(sources.KNOWN_FILES, sources.file_sha256(path), "IEMOCAP_features.pkl of X")
    assert read_erc_pickle(path).provenance["recognised_as"] == "IEMOCAP_features.pkl of X"


def test_canonical_hashes_are_in_the_table() -> None:
    assert (
        "DialogueGCN"
        in sources.KNOWN_FILES["18915267dfbb6fa8812c42757b148b143fab35e3fa525c0997763635825eefac"]
    )
    assert (
        "MELD_features_raw.pkl"
        in sources.KNOWN_FILES["33e7579ef7061ddaf8f97a4e207f0ddd60e0ba811a95eb095a2f02e50c16a03f"]
    )


# --- registered loaders -----------------------------------------------------------------


def test_registered_pickle_loaders(tmp_path: Path) -> None:
    iemocap = write(tmp_path, fx.roberta_iemocap(), "iemocap_multimodal_features.pkl")
    meld = write(tmp_path, fx.classic_meld(), "MELD_features_raw.pkl")
    assert create_dataset("iemocap-pickle", iemocap, text="text1").modalities["text"] == 8
    assert create_dataset("meld-pickle", meld, labels="sentiment").num_classes == 3
    with pytest.raises(DataError, match="holds MELD, not IEMOCAP: use meld-pickle"):
        create_dataset("iemocap-pickle", meld)


def test_registered_loader_finds_the_file_in_the_data_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "iemocap").mkdir()
    write(tmp_path / "iemocap", fx.classic_iemocap(), "IEMOCAP_features.pkl")
    monkeypatch.setenv("LMAM_DATA", str(tmp_path))
    assert len(create_dataset("iemocap-pickle").test) == 2
    with pytest.raises(DataError, match=r"no meld data found; looked in .*meld \(\$LMAM_DATA\)"):
        create_dataset("meld-pickle")


# --- transcripts (fixtures) -------------------------------------------------------------


def test_iemocap_transcripts_fixture(tmp_path: Path) -> None:
    path = write(tmp_path, fx.cosmic_iemocap(), "cosmic_iemocap.pkl")
    ds = read_transcripts(tmp_path)
    assert ds.provenance["source"] == str(path)
    assert counts(ds)["valid"][0] == 2 and ds.modalities == {} and ds.warning
    assert all(c.feats == {} and c.texts for s in ds.splits.values() for c in s)
    assert ds.train[0].texts is not None and "’" in ds.train[0].texts[0]


def test_meld_transcripts_fixture(tmp_path: Path) -> None:
    raw = fx.cosmic_meld()
    write(tmp_path, raw, "cosmic_meld.pkl")
    ds = create_dataset("meld-transcripts", tmp_path, labels="sentiment")
    assert ds.label_names == ["neutral", "positive", "negative"]
    assert next(c for c in ds.test if c.id == "1154").labels.tolist() == raw[2][1154]
    assert [c.id for c in ds.valid] == ["8", "9"]


def test_transcripts_errors(tmp_path: Path) -> None:
    raw = fx.cosmic_meld()
    raw[3][9] = raw[3][9][:-1]
    path = write(tmp_path, raw, "cosmic_meld.pkl")
    with pytest.raises(DataError) as info:
        read_transcripts(path)
    assert (info.value.dialogue, info.value.field) == ("9", "texts")
    write(tmp_path, fx.cosmic_iemocap(), "cosmic_iemocap.pkl")
    with pytest.raises(DataError, match="several candidates"):
        read_transcripts(tmp_path)
    with pytest.raises(DataError, match="no such file"):
        read_transcripts(tmp_path / "iemocap")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="none found"):
        read_transcripts(tmp_path / "empty")


# --- real data ----------------------------------------------------------------------------

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared data directory {SHARED} is absent"
)


@needs_shared
def test_real_iemocap_transcripts() -> None:
    ds = create_dataset("iemocap-transcripts", SHARED / "iemocap")
    c = counts(ds)
    assert (c["train"][0] + c["valid"][0], c["train"][1] + c["valid"][1]) == (120, 5810)
    assert c["valid"][0] == 12
    assert c["test"] == (31, 1623)
    test_labels = Counter(int(y) for conv in ds.test for y in conv.labels)
    assert [test_labels[i] for i in range(6)] == [144, 245, 384, 170, 299, 381]
    assert ds.num_speakers == 2
    assert "cosmic_iemocap.pkl" in ds.provenance["recognised_as"]


@needs_shared
@pytest.mark.parametrize("labels", ["emotion", "sentiment"])
def test_real_meld_transcripts(labels: str) -> None:
    ds = create_dataset("meld-transcripts", SHARED / "meld", labels=labels)
    c = counts(ds)
    assert c["train"][1] + c["valid"][1] == 11098
    assert c["test"] == (280, 2610)
    assert (c["train"][0], c["valid"][0]) == (1038, 114)
    assert ds.num_classes == (7 if labels == "emotion" else 3)
    assert "cosmic_meld.pkl" in ds.provenance["recognised_as"]
    texts = [t for conv in ds.train for t in conv.texts or []]
    assert not any("\x92" in t for t in texts) and any("’" in t for t in texts)


@needs_shared
def test_real_sentences_only_pickle_is_an_unknown_layout() -> None:
    with pytest.raises(DataError, match="unknown layout: a dict"):
        read_erc_pickle(SHARED / "iemocap" / "cosmic_iemocap_sentences.pkl")
