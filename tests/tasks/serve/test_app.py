"""``lmam serve``'s API, through FastAPI's test client: every endpoint and error."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the extra 'serve' is not installed")
pytest.importorskip("httpx", reason="the test client needs httpx")

from fastapi.testclient import TestClient

import lmam
from lmam.data.conversation_files import read_conversations
from lmam.features import text as text_module
from lmam.tasks.serve import ServeSettings, create_app
from tests.features.test_text import FakeEncoder
from tests.train.test_predictor import CAUSAL, build_and_train

TOKEN = "a-long-enough-test-token"


@pytest.fixture(autouse=True)
def fake_text(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = FakeEncoder()
    monkeypatch.setattr(text_module, "default_encoder_name", lambda: "fake-encoder")
    monkeypatch.setattr(text_module, "load_encoder", lambda **_: encoder.encoder())


def _train(root: Path, name: str, model: list[str]) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        encoder = FakeEncoder()
        mp.setattr(text_module, "default_encoder_name", lambda: "fake-encoder")
        mp.setattr(text_module, "load_encoder", lambda **_: encoder.encoder())
        return build_and_train(root, name, model, audio=False)


@pytest.fixture(scope="module")
def causal_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train(tmp_path_factory.mktemp("serve-causal"), "run", CAUSAL)


@pytest.fixture(scope="module")
def rerun_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train(tmp_path_factory.mktemp("serve-bclstm"), "run", ["--backbone", "bclstm"])


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose model reads text and audio (openSMILE functionals)."""
    pytest.importorskip("opensmile")
    with pytest.MonkeyPatch.context() as mp:
        encoder = FakeEncoder()
        mp.setattr(text_module, "default_encoder_name", lambda: "fake-encoder")
        mp.setattr(text_module, "load_encoder", lambda **_: encoder.encoder())
        return build_and_train(tmp_path_factory.mktemp("serve-audio"), "run", CAUSAL)


def client(run: Path, **settings: object) -> TestClient:
    return TestClient(create_app(run, ServeSettings(**settings)))  # type: ignore[arg-type]


def talk_rows(run: Path) -> list[dict[str, object]]:
    conv = read_conversations(run.parents[1] / "data" / "talk.csv")
    return [
        {"dialogue": d.id, "turn": u.turn, "speaker": u.speaker, "text": u.text}
        for d in conv.dialogues
        for u in d.utterances
    ]


def test_health_model_card_page_and_schema(causal_run: Path) -> None:
    c = client(causal_run)
    assert c.get("/healthz").json() == {"status": "ok"}
    card = c.get("/v1/model").json()
    assert card["causal"] is True and card["session"] == "carried"
    assert card["labels"] == lmam.Predictor.from_run(causal_run).label_names
    assert card["pipeline"]["text"]["encoder"] == "fake-encoder"
    assert "weighted_f1" in card["test"]
    page = c.get("/")
    assert page.status_code == 200 and "<title>lmam" in page.text
    assert c.get("/static/app.js").status_code == 200
    schema = c.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/model", "/v1/sessions", "/healthz"} <= set(schema["paths"])


def test_predict_equals_the_offline_prediction(causal_run: Path) -> None:
    rows = talk_rows(causal_run)
    got = client(causal_run).post("/v1/predict", json={"utterances": rows})
    assert got.status_code == 200
    offline = lmam.Predictor.from_run(causal_run).predict(
        causal_run.parents[1] / "data" / "talk.csv"
    )
    predictions = got.json()["predictions"]
    assert [p["prediction"] for p in predictions] == [p.emotion for p in offline]
    for a, b in zip(predictions, offline):
        assert a["probabilities"] == pytest.approx(b.probabilities, abs=1e-6)


def test_turns_default_to_the_order_of_the_utterances(causal_run: Path) -> None:
    rows = [{"speaker": r["speaker"], "text": r["text"]} for r in talk_rows(causal_run)[:4]]
    got = client(causal_run).post("/v1/predict", json={"utterances": rows}).json()
    assert [p["turn"] for p in got["predictions"]] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"utterances": [{"speaker": "A"}]}, 422, "utterances.0.text: Field required"),
        ({"utterances": []}, 422, "utterances: List should have at least 1 item"),
        ({"utterances": [{"speaker": "A", "text": "hi", "turn": -1}]}, 422, "utterances.0.turn"),
        (
            {
                "utterances": [
                    {"speaker": "A", "text": "a", "turn": 0},
                    {"speaker": "B", "text": "b", "turn": 0},
                ]
            },
            422,
            "utterance 2",
        ),
        ({"utterances": [{"speaker": "A", "text": "hi", "audio": "x.wav"}]}, 422, "no audio"),
        ({"nothing": 1}, 422, "utterances: Field required"),
    ],
)
def test_bad_input_gets_422_naming_the_field(causal_run: Path, body, status, says) -> None:
    r = client(causal_run).post("/v1/predict", json=body)
    assert r.status_code == status, r.text
    assert says in r.json()["error"] or any(says in p for p in r.json().get("problems", []))
    assert "Traceback" not in r.text


def test_malformed_json_and_limits(causal_run: Path) -> None:
    c = client(causal_run, max_body_bytes=2_000, max_utterances=3)
    r = c.post(
        "/v1/predict", content=b'{"utterances": [', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "not valid JSON" in r.json()["error"]
    rows = [{"speaker": "A", "text": "hello"}] * 4
    r = c.post("/v1/predict", json={"utterances": rows})
    assert r.status_code == 413 and "--max-utterances" in r.json()["error"]
    big = {"utterances": [{"speaker": "A", "text": "x" * 3_000}]}
    r = c.post("/v1/predict", json=big)
    assert r.status_code == 413 and "--max-body-bytes" in r.json()["error"]


def test_audio_only_under_the_audio_root(causal_run: Path, tmp_path: Path) -> None:
    c = client(causal_run, audio_root=tmp_path)
    for name in ("../etc/passwd", "/etc/passwd"):
        r = c.post(
            "/v1/predict", json={"utterances": [{"speaker": "A", "text": "x", "audio": name}]}
        )
        assert r.status_code == 422 and "outside the server's audio folder" in r.json()["error"]


def test_a_session_carries_its_state_and_equals_offline(causal_run: Path) -> None:
    c = client(causal_run)
    rows = talk_rows(causal_run)
    offline = c.post("/v1/predict", json={"utterances": rows}).json()["predictions"]
    first = [r for r in rows if r["dialogue"] == rows[0]["dialogue"]]
    sid = c.post("/v1/sessions").json()["id"]
    for k, r in enumerate(first):
        got = c.post(
            f"/v1/sessions/{sid}/utterances", json={"speaker": r["speaker"], "text": r["text"]}
        )
        [p] = got.json()["predictions"]
        assert got.json()["utterances"] == k + 1
        assert p["prediction"] == offline[k]["prediction"]
        assert p["probabilities"] == pytest.approx(offline[k]["probabilities"], abs=1e-5)
    assert c.delete(f"/v1/sessions/{sid}").status_code == 204
    r = c.post(f"/v1/sessions/{sid}/utterances", json={"speaker": "A", "text": "hi"})
    assert r.status_code == 404 and "no such open session" in r.json()["error"]
    assert c.delete(f"/v1/sessions/{sid}").status_code == 404


def test_a_non_causal_session_reruns_the_dialogue(rerun_run: Path) -> None:
    c = client(rerun_run)
    assert c.get("/v1/model").json()["session"] == "rerun"
    rows = talk_rows(rerun_run)
    first = [r for r in rows if r["dialogue"] == rows[0]["dialogue"]]
    offline = c.post("/v1/predict", json={"utterances": first}).json()["predictions"]
    sid = c.post("/v1/sessions").json()["id"]
    for r in first:
        got = c.post(
            f"/v1/sessions/{sid}/utterances", json={"speaker": r["speaker"], "text": r["text"]}
        )
    assert [p["prediction"] for p in got.json()["predictions"]] == [
        p["prediction"] for p in offline
    ]


def test_sessions_are_limited_and_expire(causal_run: Path) -> None:
    c = client(causal_run, max_sessions=2, session_idle_seconds=1.0)
    a = c.post("/v1/sessions").json()["id"]
    c.post("/v1/sessions")
    r = c.post("/v1/sessions")
    assert r.status_code == 429 and "--max-sessions" in r.json()["error"]
    sessions = c.app.state.sessions  # type: ignore[attr-defined]
    for s in sessions._open.values():
        s.touched -= 5  # idle for longer than the timeout
    assert c.post("/v1/sessions").status_code == 201
    assert (
        c.post(f"/v1/sessions/{a}/utterances", json={"speaker": "A", "text": "x"}).status_code
        == 404
    )
    assert sessions.count() == 1


def test_the_websocket_answers_each_utterance(causal_run: Path) -> None:
    c = client(causal_run)
    rows = talk_rows(causal_run)
    first = [r for r in rows if r["dialogue"] == rows[0]["dialogue"]]
    offline = c.post("/v1/predict", json={"utterances": first}).json()["predictions"]
    with c.websocket_connect("/v1/sessions/ws") as ws:
        hello = ws.receive_json()
        assert hello["state"] == "carried"
        for k, r in enumerate(first):
            ws.send_text(json.dumps({"speaker": r["speaker"], "text": r["text"]}))
            [p] = ws.receive_json()["predictions"]
            assert p["prediction"] == offline[k]["prediction"]
        ws.send_text("{not json")
        assert "want {speaker, text}" in ws.receive_json()["error"]
        assert c.app.state.sessions.count() == 1  # type: ignore[attr-defined]
    assert c.app.state.sessions.count() == 0  # type: ignore[attr-defined]


def test_a_token_is_required_when_set(causal_run: Path) -> None:
    c = client(causal_run, token=TOKEN)
    assert c.get("/healthz").status_code == 200
    assert c.get("/v1/model").status_code == 401
    assert c.get("/v1/model", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/v1/model", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_an_uploaded_file_is_predicted_and_a_bad_one_explained(causal_run: Path) -> None:
    c = client(causal_run)
    rows = talk_rows(causal_run)
    text = "\n".join(json.dumps(r) for r in rows).encode()
    r = c.post("/v1/predict/file", files={"file": ("talk.jsonl", text, "application/x-ndjson")})
    assert r.status_code == 200 and len(r.json()["predictions"]) == len(rows)
    assert (
        r.json()["predictions"]
        == c.post("/v1/predict", json={"utterances": rows}).json()["predictions"]
    )
    talk = causal_run.parents[1] / "data" / "talk.csv"  # it names audio files
    r = c.post("/v1/predict/file", files={"file": ("talk.csv", talk.read_bytes(), "text/csv")})
    assert r.status_code == 422 and "was not uploaded" in r.json()["error"]
    bad = b"dialogue,turn,speaker,text\nd1,zero,A,hello\n"
    r = c.post("/v1/predict/file", files={"file": ("bad.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert r.json()["error"].startswith("bad.csv: line 2: column 'turn'")
    r = c.post("/v1/predict/file", files={"file": ("notes.txt", b"hi", "text/plain")})
    assert r.status_code == 422 and ".csv or .jsonl" in r.json()["error"]


def test_lmam_serve_starts_on_localhost_and_answers(causal_run: Path, tmp_path: Path) -> None:
    """The command in a real process: refusals first, then a served page and health."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    short = tmp_path / "token"
    short.write_text("short")
    r = subprocess.run(
        [sys.executable, "-m", "lmam", "serve", str(causal_run), "--token-file", str(short)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "at least 16 characters" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "lmam", "serve", str(causal_run), "--audio-root", "/nonexistent"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "--audio-root /nonexistent: no such folder" in r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "lmam", "serve", str(causal_run), "--port", str(port)],
        env={**os.environ, "LMAM_SERVE_TOKEN": TOKEN},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as h:
                    assert json.loads(h.read()) == {"status": "ok"}
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not answer")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert b"<title>lmam" in page.read()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/model", timeout=5)
            raise AssertionError("the model card was served without the token")
        except urllib.error.HTTPError as e:
            assert e.code == 401
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_timed_out_prediction_is_never_run_beside_the_next(
    causal_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """504 past --request-timeout; the timed-out prediction still runs to its end, and
    the next request's prediction waits for it (one prediction at a time)."""
    import threading
    import time

    running, overlaps = [0], []
    guard = threading.Lock()
    real = lmam.Predictor.predict

    def slow(self, conv, **kw):  # type: ignore[no-untyped-def]
        with guard:
            running[0] += 1
            overlaps.append(running[0])
        time.sleep(0.6)
        try:
            return real(self, conv, **kw)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(lmam.Predictor, "predict", slow)
    c = client(causal_run, request_timeout_seconds=0.2)
    body = {"utterances": [{"speaker": "A", "text": "hello"}]}
    r = c.post("/v1/predict", json=body)
    assert r.status_code == 504 and "--request-timeout" in r.json()["error"]
    c.post("/v1/predict", json=body)  # times out too, but only after the first ended
    time.sleep(1.5)  # both threads finish
    assert overlaps and max(overlaps) == 1


def test_an_uploaded_file_with_its_audio_equals_the_offline_prediction(
    audio_run: Path, tmp_path: Path
) -> None:
    """Audio arrives as upload parts beside the conversation file; nothing outside them
    is read, and each missing or misnamed part is a 422 naming the line."""
    c = client(audio_run, max_body_bytes=50_000_000)
    assert c.get("/v1/model").json()["modalities"] == ["audio", "text"]
    data = audio_run.parents[1] / "data"
    talk = data / "talk.csv"
    conv = read_conversations(talk)
    names = sorted({u.audio.name for u in conv.utterances if u.audio is not None})
    assert names, "the generated conversation names audio files"
    offline = lmam.Predictor.from_run(audio_run).predict(conv)

    # the file names its audio by base name; the parts carry the same names
    rows = talk.read_text().replace(",wav/", ",")
    parts = [("audio", (n, (data / "wav" / n).read_bytes(), "audio/wav")) for n in names]
    r = c.post("/v1/predict/file", files=[("file", ("talk.csv", rows, "text/csv")), *parts])
    assert r.status_code == 200, r.text
    got = r.json()["predictions"]
    assert [p["prediction"] for p in got] == [p.emotion for p in offline]
    for p, q in zip(got, offline):
        assert p["probabilities"] == pytest.approx(q.probabilities, abs=1e-5)

    r = c.post("/v1/predict/file", files=[("file", ("talk.csv", rows, "text/csv")), *parts[1:]])
    assert r.status_code == 422 and f"{names[0]!r} was not uploaded" in r.json()["error"]
    assert r.json()["error"].startswith("file: talk.csv: line ")
    outside = rows.replace(names[0], f"../{names[0]}")
    r = c.post("/v1/predict/file", files=[("file", ("talk.csv", outside, "text/csv")), *parts])
    assert r.status_code == 422 and "was not uploaded" in r.json()["error"]
    r = c.post(
        "/v1/predict/file", files=[("file", ("talk.csv", rows, "text/csv")), parts[0], parts[0]]
    )
    assert r.status_code == 422 and "uploaded twice" in r.json()["error"]
    garbage = [("audio", (names[0], b"not a sound", "audio/wav")), *parts[1:]]
    r = c.post("/v1/predict/file", files=[("file", ("talk.csv", rows, "text/csv")), *garbage])
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith(f"talk.csv: line 2: column 'audio': {names[0]}: not a")
    assert "lmam-serve-" not in r.text  # the server's own folder is not told
    table = list(csv.reader(io.StringIO(rows)))
    out = io.StringIO()
    csv.writer(out).writerows(row[:-1] for row in table)  # without the audio column
    text_only = out.getvalue()
    r = c.post("/v1/predict/file", files={"file": ("talk.csv", text_only, "text/csv")})
    assert r.status_code == 422 and "the model uses audio" in r.json()["error"]
