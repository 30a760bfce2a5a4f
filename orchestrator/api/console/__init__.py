"""The web console: server-rendered pages for trainers, operators, researchers and teams (see
docs/console.md). Mounted at `/` by the app factory, beside the API; its pages, styles and one small
script ship in this package, nothing is fetched from elsewhere at run time."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from orchestrator.api.console import exercises, ranges, redaction, signin

STATIC = "/console/static"


def install(app: FastAPI) -> None:
    app.mount(STATIC, StaticFiles(directory=Path(__file__).with_name("static")), name="console-static")
    for module in (signin, ranges, exercises):
        app.include_router(module.router)
    redaction.install()
