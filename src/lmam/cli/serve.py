"""``lmam serve RUN``: the run's model as an HTTP service with a web page (extra ``serve``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from lmam.cli.errors import log_console
from lmam.errors import OptionError

TOKEN_VARIABLE = "LMAM_SERVE_TOKEN"


def serve_command(
    run: Path = typer.Argument(..., help="a run directory (e.g. runs/tutorial)"),
    host: str = typer.Option(
        "127.0.0.1", help="the address to listen on; another than 127.0.0.1 must be asked for"
    ),
    port: int = typer.Option(8000, min=1, max=65535, help="the port"),
    audio_root: Path | None = typer.Option(
        None, help="the one folder whose audio files requests may name (default: no audio)"
    ),
    token_file: Path | None = typer.Option(
        None,
        help=f"a file holding the bearer token every request must carry (or ${TOKEN_VARIABLE})",
    ),
    cors_origin: list[str] = typer.Option(
        [], "--cors-origin", help="an origin allowed to call the API from a browser (repeat)"
    ),
    max_body_bytes: int = typer.Option(1_000_000, min=1, help="the largest request body"),
    max_utterances: int = typer.Option(1_000, min=1, help="the most utterances of one request"),
    max_sessions: int = typer.Option(100, min=1, help="the most live sessions open at once"),
    session_idle: float = typer.Option(
        900.0, min=1.0, help="seconds after which an unused session expires"
    ),
    request_timeout: float = typer.Option(60.0, min=0.1, help="seconds a prediction may take"),
    device: str = typer.Option("cpu", help="where the model runs: cpu, cuda, cuda:N or auto"),
) -> None:
    """Serve a run's model over HTTP: predictions, live sessions and a web page at /."""
    try:
        import uvicorn

        from lmam.tasks.serve import ServeSettings, create_app
        from lmam.tasks.serve.sessions import steady_allocator
    except ImportError as e:
        raise OptionError(
            f"lmam serve needs the extra 'serve': pip install 'lmam[serve]' ({e})"
        ) from None
    token = None
    if token_file is not None:
        if not token_file.is_file():
            raise OptionError(f"--token-file {token_file}: no such file")
        token = token_file.read_text().strip()
    elif os.environ.get(TOKEN_VARIABLE):
        token = os.environ[TOKEN_VARIABLE].strip()
    if token is not None and len(token) < 16:
        raise OptionError("the bearer token must be at least 16 characters")
    if audio_root is not None and not audio_root.is_dir():
        raise OptionError(f"--audio-root {audio_root}: no such folder")
    limits: dict[str, Any] = {
        "max_body_bytes": max_body_bytes,
        "max_utterances": max_utterances,
        "max_sessions": max_sessions,
        "session_idle_seconds": session_idle,
        "request_timeout_seconds": request_timeout,
    }
    settings = ServeSettings(audio_root, token, list(cors_origin), **limits)
    steady_allocator()  # this process serves for long: give freed sessions' memory back
    app = create_app(run, settings, device)
    if host not in ("127.0.0.1", "localhost", "::1"):
        log_console().print(
            f"note: listening on {host}, reachable from other machines"
            + ("" if token else " (without a token: anyone who can reach it can use it)"),
            markup=False,
        )
    log_console().print(f"lmam serve {run}: http://{host}:{port}/", markup=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")
