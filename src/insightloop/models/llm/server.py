"""An OpenAI-compatible server over any provider: ``GET /v1/models`` and
``POST /v1/chat/completions`` (what ``insightloop llm serve`` runs), so the endpoint provider
is tested end to end against a real local server, with no network.

A request whose system message carries a catalogue block (:mod:`.prompt`) and asks for a
JSON schema is answered under that catalogue's grammar; any other is plain chat.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from insightloop.models.llm.contract import Message, Provider, ProviderError
from insightloop.models.llm.prompt import catalogue_from_messages

__all__ = ["create_llm_app", "serve_provider"]


class _Message(BaseModel):
    role: str
    content: str


class _ChatRequest(BaseModel):
    model: str = ""
    messages: list[_Message] = Field(min_length=1)
    max_tokens: int = Field(default=256, ge=1, le=4096)
    temperature: float = 0.0
    response_format: dict[str, Any] | None = None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={
        "error": {"message": message, "type": "invalid_request_error"}})


def create_llm_app(provider: Provider, model_name: str, timeout: float = 60.0) -> FastAPI:
    """The server's ASGI app answering with ``provider`` under the name ``model_name``."""
    app = FastAPI(title="insightloop llm", docs_url=None, redoc_url=None)

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_name, "object": "model",
                                            "created": 0, "owned_by": "insightloop"}]}

    @app.post("/v1/chat/completions", response_model=None)
    def chat(request: _ChatRequest) -> dict[str, Any] | JSONResponse:
        messages: list[Message] = [{"role": m.role, "content": m.content}
                                   for m in request.messages]
        fmt = request.response_format or {}
        schema = fmt.get("json_schema", {}).get("schema") if fmt.get("type") == "json_schema" \
            else None
        grammar = catalogue_from_messages(messages) if schema is not None else None
        try:
            done = provider.complete(messages, schema=schema, grammar=grammar,
                                     max_tokens=request.max_tokens, timeout=timeout)
        except ProviderError as exc:
            return _error(400, str(exc))
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
                "created": int(time.time()), "model": model_name,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": done.text}}],
                "usage": {"latency_s": round(done.latency_s, 4)}}

    return app


def serve_provider(provider: Provider, model_name: str, host: str, port: int,
                   timeout: float = 60.0) -> None:
    """Run the server until Ctrl-C (no access log: requests may carry customer text)."""
    uvicorn.run(create_llm_app(provider, model_name, timeout), host=host, port=port,
                access_log=False, log_level="warning")
