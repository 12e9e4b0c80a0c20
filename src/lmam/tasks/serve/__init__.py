"""A run's model as a service: ``lmam serve`` (HTTP, live sessions, a web page).

Needs the extra ``serve`` (FastAPI and uvicorn).
"""

from lmam.tasks.serve.app import ServeSettings, create_app

__all__ = ["ServeSettings", "create_app"]
