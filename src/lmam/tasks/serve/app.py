"""``lmam serve``: a run's model behind HTTP (FastAPI), with live sessions and a web page.

Endpoints (the OpenAPI schema is at ``/openapi.json``, its pages at ``/docs``):

- ``GET /healthz``: ``{"status": "ok"}``.
- ``GET /v1/model``: the run's card: labels, modalities, how its features are built
  (encoder and openSMILE versions), its test figures, and whether its sessions answer
  each utterance once (a causal model) or rerun the dialogue.
- ``POST /v1/predict``: ``{"utterances": [{dialogue, turn, speaker, text, audio?, start?,
  end?, label?}, ...]}`` (a conversation file's fields) -> every utterance's emotion and
  probabilities. ``audio`` is a path under the server's ``--audio-root``, nothing else.
- ``POST /v1/predict/file``: a conversation file (``.csv`` / ``.jsonl``) as a multipart
  upload (field ``file``), with the audio files its ``audio`` column names as parts
  ``audio`` (each under its own file name; they live only for the request).
- ``POST /v1/sessions`` -> ``{"id": ...}``; ``POST /v1/sessions/{id}/utterances``
  ``{speaker, text}`` -> the answer; ``DELETE /v1/sessions/{id}``.
- ``WebSocket /v1/sessions/ws``: a session for the connection's lifetime; each message
  ``{speaker, text}`` is answered as it arrives.

Errors are JSON ``{"error": message}`` naming the field: 422 for bad input, 413 for a
body or conversation over the limits, 404 for an unknown session, 401 without the
token, 429 when every session slot is taken, 504 past the request timeout; never a
stack trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import (
    Depends,
    FastAPI,
    File,
    Request,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from lmam.data import DataError
from lmam.data.conversation_files import (
    ConversationFile,
    ConversationFileError,
    conversations_from_records,
    read_conversations,
)
from lmam.errors import OptionError, RunError
from lmam.tasks.serve.sessions import SessionLimitError, Sessions, UnknownSessionError
from lmam.train.predictor import Prediction, Predictor
from lmam.version import __version__

STATIC = Path(__file__).resolve().parent / "static"
CONVERSATION_SUFFIXES = (".csv", ".jsonl", ".ndjson")
"""What an uploaded conversation file's name ends in (and an audio part's never does)."""
log = logging.getLogger("lmam.serve")


@dataclass
class ServeSettings:
    """The service's limits and access (each a flag of ``lmam serve``)."""

    audio_root: Path | None = None
    token: str | None = None
    cors_origins: list[str] = field(default_factory=list)
    max_body_bytes: int = 1_000_000
    max_utterances: int = 1_000
    max_sessions: int = 100
    session_idle_seconds: float = 900.0
    request_timeout_seconds: float = 60.0


class UtteranceIn(BaseModel):
    """One utterance, as a conversation file's row."""

    dialogue: str = Field("conversation", max_length=200)
    turn: int | None = Field(None, ge=0, description="default: its place in the dialogue")
    speaker: str = Field(..., min_length=1, max_length=200)
    text: str = Field(..., max_length=20_000)
    audio: str | None = Field(None, description="a path under the server's --audio-root")
    start: float | None = None
    end: float | None = None
    label: str | None = None


class PredictRequest(BaseModel):
    utterances: list[UtteranceIn] = Field(..., min_length=1)


class SessionUtterance(BaseModel):
    speaker: str = Field(..., min_length=1, max_length=200)
    text: str = Field(..., max_length=20_000)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(
    run_dir: str | Path, settings: ServeSettings | None = None, device: str = "cpu"
) -> FastAPI:
    """The service of the run in ``run_dir`` (its model loaded once, on ``device``)."""
    settings = settings or ServeSettings()
    run_dir = Path(run_dir)
    predictor = Predictor.from_run(run_dir, device)
    causal = predictor.is_causal()
    sessions = Sessions(predictor, causal, settings.max_sessions, settings.session_idle_seconds)
    model_lock = asyncio.Lock()  # requests queue here, outside the timeout
    model_busy = threading.Lock()  # held by the thread itself: a timed-out prediction
    # still runs to its end, and the next one must not start beside it
    card = model_card(run_dir, predictor, causal)
    app = FastAPI(
        title="lmam",
        version=__version__,
        description="Emotions of the utterances of conversations, from a trained lmam run.",
    )
    app.state.sessions = sessions
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )

    def authorised(request: Request) -> None:
        check_token(settings.token, request.headers.get("authorization"), None)

    def exclusive(fn: Callable[[], Any]) -> Any:
        with model_busy:
            return fn()

    async def run_model(fn: Callable[[], Any]) -> Any:
        async with model_lock:  # one prediction at a time: the model is not shared across threads
            try:
                return await asyncio.wait_for(
                    run_in_threadpool(exclusive, fn), timeout=settings.request_timeout_seconds
                )
            except TimeoutError:
                raise ApiError(
                    504,
                    f"the prediction took over {settings.request_timeout_seconds:g} s "
                    "(--request-timeout)",
                ) from None

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse({"error": err.message}, status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = [validation_line(e) for e in err.errors()]
        return JSONResponse({"error": problems[0], "problems": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(err.detail)}, status_code=err.status_code)

    @app.exception_handler(DataError)
    async def _data(request: Request, err: DataError) -> JSONResponse:
        problems = err.lines if isinstance(err, ConversationFileError) else [str(err)]
        return JSONResponse({"error": problems[0], "problems": problems}, status_code=422)

    @app.exception_handler(OptionError)
    async def _option(request: Request, err: OptionError) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=422)

    @app.exception_handler(RunError)
    async def _run(request: Request, err: RunError) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse(
            {"error": f"internal error ({type(err).__name__}); the server's log has the details"},
            status_code=500,
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/model", dependencies=[Depends(authorised)])
    async def model() -> dict[str, Any]:
        return {**card, "sessions": sessions.describe()}

    @app.post("/v1/predict", dependencies=[Depends(authorised)])
    async def predict(body: PredictRequest) -> dict[str, Any]:
        if len(body.utterances) > settings.max_utterances:
            raise ApiError(
                413,
                f"utterances: {len(body.utterances)} utterances, the most a request may "
                f"have is {settings.max_utterances} (--max-utterances)",
            )
        records = request_records(body, settings.audio_root)
        conv = conversations_from_records(
            records, "request", check_audio="audio" in predictor.modalities
        )
        result = await run_model(lambda: predictor.predict(conv))
        return {"predictions": [p.to_dict() for p in result]}

    @app.post("/v1/predict/file", dependencies=[Depends(authorised)])
    async def predict_file(
        file: UploadFile, audio: list[UploadFile] = File(default_factory=list)
    ) -> dict[str, Any]:
        name = Path(file.filename or "upload.csv").name
        suffix = Path(name).suffix.lower()
        if suffix not in CONVERSATION_SUFFIXES:
            raise ApiError(422, f"file: {name}: a conversation file ends in .csv or .jsonl")
        data = await file.read()
        with tempfile.TemporaryDirectory(prefix="lmam-serve-") as folder:
            base = Path(folder).resolve()
            await save_audio(audio, base)
            path = base / f"conversation{suffix}"
            path.write_bytes(data)
            try:
                conv = read_conversations(path, check_audio=False)
                check_uploaded_audio(conv, base, name, uses_audio="audio" in predictor.modalities)
                if len(conv.utterances) > settings.max_utterances:
                    raise ApiError(
                        413,
                        f"file: {len(conv.utterances)} utterances, the most a request may have "
                        f"is {settings.max_utterances} (--max-utterances)",
                    )
                result = await run_model(lambda: predictor.predict(conv))
            except (ConversationFileError, DataError) as e:
                # the server's temporary folder is named by what the client sent
                lines = e.lines if isinstance(e, ConversationFileError) else [str(e)]
                told = [x.replace(str(path), name).replace(f"{base}/", "") for x in lines]
                raise ApiError(422, "\n".join(told)) from None
        return {"predictions": [p.to_dict() for p in result]}

    @app.post("/v1/sessions", status_code=201, dependencies=[Depends(authorised)])
    async def open_session() -> dict[str, Any]:
        try:
            session = sessions.open()
        except SessionLimitError as e:
            raise ApiError(429, str(e)) from None
        return {"id": session.id, "state": card["session"]}

    @app.post("/v1/sessions/{sid}/utterances", dependencies=[Depends(authorised)])
    async def add_utterance(sid: str, body: SessionUtterance) -> dict[str, Any]:
        session = known(sessions, sid)
        result = await run_model(lambda: session.add(predictor, body.speaker, body.text))
        return answer(result, len(session))

    @app.delete("/v1/sessions/{sid}", status_code=204, dependencies=[Depends(authorised)])
    async def close_session(sid: str) -> Response:
        try:
            sessions.close(sid)
        except UnknownSessionError:
            raise ApiError(404, f"session {sid}: no such open session") from None
        return Response(status_code=204)

    @app.websocket("/v1/sessions/ws")
    async def live(ws: WebSocket) -> None:
        try:
            check_token(
                settings.token, ws.headers.get("authorization"), ws.query_params.get("token")
            )
        except ApiError as e:
            await ws.close(code=4401, reason=e.message)
            return
        await ws.accept()
        try:
            session = sessions.open()
        except SessionLimitError as e:
            await ws.send_json({"error": str(e)})
            await ws.close(code=4429)
            return
        try:
            await ws.send_json({"id": session.id, "state": card["session"]})
            while True:
                raw = await ws.receive_text()
                try:
                    said = SessionUtterance.model_validate(json.loads(raw))
                except (ValueError, TypeError) as e:
                    await ws.send_json({"error": f"want {{speaker, text}}: {message_of(e)}"})
                    continue
                try:
                    result = await run_model(
                        functools.partial(session.add, predictor, said.speaker, said.text)
                    )
                except (ApiError, OptionError, RunError, DataError) as e:
                    await ws.send_json({"error": getattr(e, "message", str(e))})
                    continue
                await ws.send_json(answer(result, len(session)))
        except WebSocketDisconnect:
            pass
        finally:
            with contextlib.suppress(UnknownSessionError):
                sessions.close(session.id)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def model_card(run_dir: Path, predictor: Predictor, causal: bool) -> dict[str, Any]:
    summary_path = run_dir / "summary.json"
    test: dict[str, Any] = {}
    if summary_path.is_file():
        recorded = json.loads(summary_path.read_text()).get("test") or {}
        test = {k: v for k, v in recorded.items() if isinstance(v, (int, float))}
    config = predictor.description.get("config", {})
    return {
        "run": run_dir.name,
        "lmam_version": __version__,
        "labels": predictor.label_names,
        "modalities": predictor.modalities,
        "backbone": config.get("backbone"),
        "fusion": config.get("fusion"),
        "pipeline": predictor.pipeline,
        "test": test,
        "causal": causal,
        "session": "carried"
        if causal and predictor.model.can_step
        else ("causal" if causal else "rerun"),
    }


def request_records(body: PredictRequest, audio_root: Path | None) -> list[dict[str, Any]]:
    """The request's utterances as conversation-file rows: turns filled in, audio
    references resolved under ``audio_root`` (and refused anywhere else)."""
    records = []
    next_turn: dict[str, int] = {}
    for k, u in enumerate(body.utterances, 1):
        row = u.model_dump(exclude_none=True)
        if u.turn is None:
            row["turn"] = next_turn.get(u.dialogue, 0)
        next_turn[u.dialogue] = int(row["turn"]) + 1
        if u.audio is not None:
            row["audio"] = str(confined(u.audio, audio_root, k))
        records.append(row)
    return records


def confined(name: str, root: Path | None, utterance: int) -> Path:
    """``name`` resolved under ``root``; an ``ApiError`` (422) anywhere else."""
    if root is None:
        raise ApiError(
            422,
            f"utterance {utterance}: field 'audio': this server reads no audio files "
            "(it was started without --audio-root)",
        )
    base = root.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise ApiError(
            422,
            f"utterance {utterance}: field 'audio': {name!r} is outside the server's "
            "audio folder (give a path relative to --audio-root)",
        )
    return path


async def save_audio(parts: list[UploadFile], folder: Path) -> None:
    """Write the uploaded audio files into ``folder`` under their own base names."""
    for k, part in enumerate(parts, 1):
        name = Path(part.filename or "").name
        if not name or name.startswith(".") or Path(name).suffix.lower() in CONVERSATION_SUFFIXES:
            raise ApiError(422, f"audio: part {k}: {part.filename!r} is not an audio file name")
        target = folder / name
        if target.exists():
            raise ApiError(422, f"audio: {name} is uploaded twice")
        target.write_bytes(await part.read())


def check_uploaded_audio(conv: ConversationFile, folder: Path, name: str, uses_audio: bool) -> None:
    """An uploaded conversation's audio column names only files uploaded beside it."""
    if uses_audio and not conv.has_audio:
        raise ApiError(
            422,
            f"file: {name}: the model uses audio: give the file an audio column and "
            "upload each file it names as an 'audio' part",
        )
    if not conv.has_audio:
        return
    for u in conv.utterances:  # the reader gave every one an audio file (the column is there)
        if u.audio is not None:
            audio = u.audio.resolve()
            where = f"file: {name}: line {u.line}: column 'audio'"
            if audio.parent != folder or not audio.is_file():
                raise ApiError(
                    422,
                    f"{where}: {audio.name!r} was not uploaded (upload each audio file the "
                    "conversation names as an 'audio' part, and name it by its file name)",
                )


def known(sessions: Sessions, sid: str) -> Any:
    try:
        return sessions.get(sid)
    except UnknownSessionError:
        raise ApiError(
            404, f"session {sid}: no such open session (closed, expired, or never opened)"
        ) from None


def answer(predictions: list[Prediction], length: int) -> dict[str, Any]:
    return {"utterances": length, "predictions": [p.to_dict() for p in predictions]}


def check_token(token: str | None, header: str | None, query: str | None) -> None:
    """Nothing when no token is set or the given one matches (compared in constant time)."""
    if token is None:
        return
    given = query or ""
    if header and header.lower().startswith("bearer "):
        given = header[7:].strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise ApiError(401, "a valid bearer token is needed (Authorization: Bearer TOKEN)")


def validation_line(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    if error.get("type") == "json_invalid":
        return f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
    return f"{where or 'body'}: {error.get('msg', 'invalid')}"


def message_of(err: Exception) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):
        return "; ".join(validation_line(e) for e in errors())
    return str(err)


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 before it is parsed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps(
            {"error": f"the request body is over {self.limit} bytes (--max-body-bytes)"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
