"""The web page of ``lmam serve`` in a real browser (Playwright driving Debian's chromium).

Skips with a message when playwright or a chromium is not installed
(``.ci/run`` installs both when it can).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the extra 'serve' is not installed")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)

import uvicorn  # noqa: E402

from lmam.tasks.serve import create_app  # noqa: E402
from tests.tasks.serve.test_app import causal_run, fake_text  # noqa: E402, F401


@pytest.fixture
def server(causal_run: Path, fake_text: None) -> Iterator[str]:  # noqa: F811
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(causal_run), host="127.0.0.1", port=port, log_level="error")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(100):
        if instance.started:
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(server: str) -> Iterator[object]:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page()
        tab.goto(server)
        yield tab
        browser.close()


def test_a_conversation_gets_each_utterance_s_emotion(page) -> None:
    page.wait_for_selector("#model:has-text('dialoguernn')")
    page.fill(
        "#conversation", "Ann: I got the job!\nBob: That is wonderful news.\nAnn: I am so happy"
    )
    page.click("#predict")
    page.wait_for_selector("#timeline li:nth-child(3)")
    rows = page.locator("#timeline li")
    assert rows.count() == 3
    labels = page.evaluate("fetch('/v1/model').then(r => r.json()).then(c => c.labels)")
    for k in range(3):
        emotion = rows.nth(k).locator(".emotion").inner_text()
        assert emotion in labels
        assert rows.nth(k).locator("[role=meter]").count() == len(labels)
    assert "Bob" in rows.nth(1).inner_text()


def test_live_mode_answers_each_typed_utterance(page) -> None:
    page.wait_for_selector("#model:has-text('dialoguernn')")
    page.fill("#speaker", "Ann")
    page.fill("#utterance", "Hello there")
    page.press("#utterance", "Enter")  # the keyboard alone sends
    page.wait_for_selector("#timeline li:nth-child(1)")
    page.fill("#utterance", "This is terrible")
    page.press("#utterance", "Enter")
    page.wait_for_selector("#timeline li:nth-child(2)")
    assert "This is terrible" in page.locator("#timeline li").nth(1).inner_text()
    assert page.locator("#utterance").input_value() == ""


def test_a_bad_file_shows_the_servers_error_in_words(page, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("dialogue,turn,speaker,text\nd1,zero,A,hello\n")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    assert "bad.csv: line 2: column 'turn'" in page.inner_text("#error")
    page.fill("#conversation", "no colon here")
    page.click("#predict")
    page.wait_for_selector("#error:has-text('speaker: text')")


def test_a_file_with_its_audio_is_uploaded_together(page, tmp_path: Path) -> None:
    """The conversation file and the audio files it names, chosen together, go up as one
    request; an audio file left out is named in words."""
    import wave

    for name in ("a.wav", "b.wav"):
        with wave.open(str(tmp_path / name), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16_000)
            w.writeframes(b"\x00\x01" * 8_000)
    talk = tmp_path / "talk.csv"
    talk.write_text(
        "dialogue,turn,speaker,text,audio\nd1,0,A,I got the job!,a.wav\nd1,1,B,Wonderful.,b.wav\n"
    )
    page.wait_for_selector("#model:has-text('dialoguernn')")
    page.set_input_files("#file", [str(talk), str(tmp_path / "a.wav"), str(tmp_path / "b.wav")])
    page.wait_for_selector("#timeline li:nth-child(2)")
    assert page.locator("#timeline li").count() == 2
    page.set_input_files("#file", [str(talk), str(tmp_path / "a.wav")])
    page.wait_for_selector("#error:has-text('b.wav')")
    assert "was not uploaded" in page.inner_text("#error")


def test_it_fits_a_phone_and_every_control_is_reachable_by_keyboard(page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.wait_for_selector("#model:has-text('dialoguernn')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
    assert {"conversation", "predict", "file", "speaker", "utterance", "send", "restart"} <= set(
        reached
    )
