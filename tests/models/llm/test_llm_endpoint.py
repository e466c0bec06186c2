"""The endpoint provider end to end against a real local OpenAI-compatible server (the one
``insightloop llm serve`` runs) on an ephemeral port, no network: JSON schema and catalogue
through the API, timeouts, HTTP errors, and no personal data sent unless allowed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from contexts import ctx_of
from insightloop.models.llm.contract import AUDIENCE_SCHEMA, Catalogue, Message, ProviderError
from insightloop.models.llm.endpoint import EndpointProvider
from insightloop.models.llm.prompt import audience_messages
from insightloop.models.llm.rules import RuleProvider
from insightloop.models.llm.server import create_llm_app
from insightloop.services.assistant import audience_from_text
from insightloop.settings import LLMSettings

CAT = Catalogue({"country": "VARCHAR", "monetary": "DOUBLE", "email": "VARCHAR"},
                {"country": ("France", "Germany")}, frozenset({"email"}))


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_llm_app(RuleProvider(), "rules"),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=10)


def test_models_and_a_constrained_completion(url: str) -> None:
    assert httpx.get(f"{url}/models").json()["data"][0]["id"] == "rules"
    done = EndpointProvider(url, "rules").complete(
        audience_messages("德国或法国消费超过200的客户", CAT), schema=AUDIENCE_SCHEMA, grammar=CAT)
    assert done.provider == "endpoint"
    assert done.parsed is not None
    assert done.parsed["where"] == "country in ('Germany', 'France') and monetary > 200"


def test_personal_data_is_refused_unless_allowed(url: str) -> None:
    messages = audience_messages("customers like ana@example.com in France", CAT)
    with pytest.raises(ProviderError, match=r"refused to send personal data.*e-mail address"):
        EndpointProvider(url, "rules").complete(messages, schema=AUDIENCE_SCHEMA, grammar=CAT)
    block = '<catalogue>{"columns": {"email": "VARCHAR"}}</catalogue>'
    leaky: list[Message] = [{"role": "system", "content": block},
                            {"role": "user", "content": "hi"}]
    with pytest.raises(ProviderError, match="personal column email"):
        EndpointProvider(url, "rules").complete(leaky, grammar=CAT)
    assert "email" not in audience_messages("hi", CAT)[0]["content"]
    done = EndpointProvider(url, "rules", allow_personal_data=True).complete(
        messages, schema=AUDIENCE_SCHEMA, grammar=CAT)
    assert done.parsed == {"where": "country = 'France'", "explanation": "country equal to "
                                                                          "'France'"}


def test_errors_are_one_line_provider_errors(url: str) -> None:
    with pytest.raises(ProviderError, match=r"HTTP 400: .*no user message"):
        EndpointProvider(url, "rules").complete([{"role": "system", "content": "hi"}])
    with pytest.raises(ProviderError, match="cannot reach the endpoint"):
        EndpointProvider("http://127.0.0.1:9/v1", "x").complete(
            [{"role": "user", "content": "hi"}], timeout=2)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ProviderError, match=r"did not answer within 0\.5 s"):
        EndpointProvider(url, "rules", transport=httpx.MockTransport(slow)).complete(
            [{"role": "user", "content": "hi"}], timeout=0.5)
    with pytest.raises(ProviderError, match="no endpoint URL"):
        EndpointProvider("", "x")


def test_from_text_through_the_endpoint(url: str, wh: Path) -> None:
    settings = LLMSettings.load(env={}, provider="endpoint", url=url)
    out = audience_from_text(ctx_of(wh), "French customers", EndpointProvider(url, "rules"),
                             settings)
    assert out["where"] == "country = 'France'" and out["provider"] == "endpoint"
    assert out["count"] == len(out["customer_ids"]) > 0
    assert json.dumps(out)


def test_settings_validate() -> None:
    with pytest.raises(Exception, match="LLM provider must be one of rule, local, endpoint"):
        LLMSettings.load(env={"INSIGHTLOOP_LLM_PROVIDER": "gpt"})
    with pytest.raises(Exception, match=r"\(INSIGHTLOOP_LLM_TIMEOUT\) must be a positive"):
        LLMSettings.load(env={"INSIGHTLOOP_LLM_TIMEOUT": "soon"})
    s = LLMSettings.load(env={"INSIGHTLOOP_LLM_URL": "http://h:1/v1/",
                              "INSIGHTLOOP_LLM_ALLOW_PERSONAL_DATA": "yes"})
    assert (s.provider, s.url, s.allow_personal_data, s.timeout) == \
        ("rule", "http://h:1/v1", True, 30.0)
