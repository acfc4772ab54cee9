"""The bare-endpoint ceiling: a trivial FastAPI app on uvicorn that reads the body and answers 200.

Posting the same signed webhooks here with the same load generator shows what one Python
process on this machine can answer at all; the ingress is measured against that ceiling.
Run as ``python -m bench.bare PORT``; it serves the ingress's webhook paths.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def create_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.post("/webhooks/{provider}/{channel_id}")
    async def webhook(provider: str, channel_id: str, request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"accepted": 1})

    return app


def main(port: int) -> None:
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
