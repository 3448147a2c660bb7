"""A local OpenAI-compatible endpoint for tests, backed by any LLM backend, with fault injection.

Test a client (or an OpenAI-compatible backend plugin) offline, on 127.0.0.1::

    from faircausesyn.testing.llm_server import EchoBackend, Fault, LLMServer

    with LLMServer(EchoBackend(), model="echo") as server:
        server.inject(Fault("429", retry_after=0.1), Fault("truncated"))
        backend = get_llm_backend("openai", base_url=server.url, model="echo")
        backend.chat([[{"role": "user", "content": "hi"}]])

The server speaks ``POST /v1/chat/completions``, ``POST /v1/completions`` and
``GET /v1/models`` (stdlib ``http.server`` in a daemon thread, an ephemeral
port). Faults queued with :meth:`LLMServer.inject` are applied one per request,
in order; :meth:`LLMServer.chaos` adds seeded random faults. After
:meth:`LLMServer.stop` the port refuses connections: a dead endpoint.

Fault kinds:

- ``delay``: wait ``seconds`` before answering normally (exceeds a client timeout);
- ``429``: "Too Many Requests" with a ``Retry-After`` header when ``retry_after`` is set;
- ``500``, ``502``, ``503``: server errors (``retry_after`` honoured for 503 too);
- ``malformed``: HTTP 200 with a body that is not chat-completions JSON;
- ``truncated``: HTTP 200 whose body stops half-way (shorter than its Content-Length);
- ``drop``: the connection is closed without any answer;
- ``400``: a client error whose body echoes the request headers (a server that
  leaks the Authorization header; the client must redact it).
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal

from ..interfaces import Completion, LLMBackend, LLMBackendConfig, Message

FaultKind = Literal["delay", "429", "500", "502", "503", "malformed", "truncated", "drop", "400"]
FAULT_KINDS: tuple[str, ...] = ("delay", "429", "500", "502", "503", "malformed", "truncated", "drop", "400")


@dataclass(frozen=True)
class Fault:
    """One injected fault, applied to one request."""

    kind: FaultKind
    #: for ``delay``: seconds to wait before answering
    seconds: float = 0.0
    #: for ``429``/``503``: the Retry-After header value (seconds, or an HTTP date string)
    retry_after: float | str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose from {', '.join(FAULT_KINDS)}")


@dataclass
class RequestRecord:
    """What the server saw of one request (the Authorization header is never kept)."""

    path: str
    status: int | None
    fault: str | None
    authorized: bool
    payload: dict[str, Any] = field(default_factory=dict)


class EchoBackend(LLMBackend):
    """A deterministic backend for protocol tests: answers ``echo <seed>: <last user message>``.

    The answer is cut to ``max_tokens`` whitespace-separated words
    (``finish_reason="length"``) and at the first stop string; token counts are
    word counts. What it tests is the client, not the model.
    """

    Config: ClassVar[type[LLMBackendConfig]] = LLMBackendConfig

    def _complete(self, prompts: list[str], params: dict[str, Any]) -> list[Completion]:
        return [self._answer(p, params) for p in prompts]

    def _chat(self, conversations: list[list[Message]], params: dict[str, Any]) -> list[Completion]:
        out = []
        for conv in conversations:
            users = [m["content"] for m in conv if m["role"] == "user"]
            out.append(self._answer(users[-1] if users else "", params, prompt_tokens=sum(len(m["content"].split()) for m in conv)))
        return out

    def _answer(self, text: str, params: dict[str, Any], prompt_tokens: int | None = None) -> Completion:
        words = f"echo {params['seed']}: {text}".split()
        limit = max(1, int(params["max_tokens"]))
        reason = "length" if len(words) > limit else "stop"
        answer = " ".join(words[:limit])
        for s in params.get("stop") or []:
            if s and s in answer:
                answer, reason = answer[: answer.index(s)], "stop"
        n_prompt = len(text.split()) if prompt_tokens is None else prompt_tokens
        return Completion(answer, prompt_tokens=n_prompt, completion_tokens=len(answer.split()), finish_reason=reason)


class LLMServer:
    """An OpenAI-compatible HTTP server on 127.0.0.1 (ephemeral port) that answers with ``backend``.

    ``api_key``: when set, requests without ``Authorization: Bearer <api_key>``
    get HTTP 401. Calls into the backend are serialised (local models are not
    thread-safe); ``requests`` records every request seen.
    """

    def __init__(self, backend: LLMBackend | None = None, *, model: str = "local-model", api_key: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.backend = backend if backend is not None else EchoBackend()
        self.model = model
        self._api_key = api_key
        self._host, self._port = host, port
        self._faults: deque[Fault] = deque()
        self._chaos: tuple[dict[str, float], random.Random] | None = None
        self._chaos_kw: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._backend_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RequestRecord] = []
        #: the most requests handled at the same time (from arrival until their answer starts)
        self.max_in_flight = 0
        self._in_flight = 0

    # -- lifecycle
    def start(self) -> LLMServer:
        """Start serving in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = ThreadingHTTPServer((self._host, self._port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="faircausesyn-llm-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (later connections are refused: a dead endpoint)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL a client uses, e.g. ``http://127.0.0.1:54321/v1``."""
        return f"http://{self._host}:{self._port}/v1"

    @staticmethod
    def unused_url() -> str:
        """The base URL of a loopback port where nothing listens (connections are refused)."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    # -- faults
    def inject(self, *faults: Fault | str, times: int = 1) -> None:
        """Queue faults for the next requests, one per request, in order (a kind name means ``Fault(kind)``); ``times`` repeats them."""
        items = [f if isinstance(f, Fault) else Fault(f) for f in faults]
        with self._lock:
            for _ in range(times):
                self._faults.extend(items)

    def chaos(self, rates: Mapping[str, float], *, seed: int = 0, retry_after: float | None = None, seconds: float = 0.0) -> None:
        """After the queued faults, give each request fault ``kind`` with probability ``rates[kind]`` (seeded); empty ``rates`` turns it off."""
        if sum(rates.values()) > 1:
            raise ValueError("fault rates must sum to at most 1")
        for kind in rates:
            Fault(kind)  # type: ignore[arg-type]
        with self._lock:
            self._chaos = (dict(rates), random.Random(seed)) if rates else None
            self._chaos_kw = {"retry_after": retry_after, "seconds": seconds}

    def clear_faults(self) -> None:
        """Drop queued faults and turn chaos off."""
        with self._lock:
            self._faults.clear()
            self._chaos = None

    @property
    def pending_faults(self) -> int:
        """How many queued faults are still to be applied."""
        with self._lock:
            return len(self._faults)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self._chaos is not None:
                rates, rng = self._chaos
                u, acc = rng.random(), 0.0
                for kind, p in rates.items():
                    acc += p
                    if u < acc:
                        return Fault(kind, **self._chaos_kw)  # type: ignore[arg-type]
            return None

    def _record(self, rec: RequestRecord) -> None:
        with self._lock:
            self.requests.append(rec)

    # -- answers
    def _generate(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        fields = set(type(self.backend.config).model_fields)
        settings = {k: payload[k] for k in ("temperature", "top_p", "max_tokens", "seed", "stop") if k in payload and payload[k] is not None and k in fields}
        if isinstance(settings.get("stop"), str):
            settings["stop"] = [settings["stop"]]
        created = int(time.time())
        with self._backend_lock:
            if path.endswith("/chat/completions"):
                messages = payload.get("messages")
                if not isinstance(messages, list) or not messages:
                    raise ValueError("'messages' must be a non-empty list")
                (c,) = self.backend.chat([[{"role": m["role"], "content": m["content"]} for m in messages]], **settings)
                choices = [{"index": 0, "message": {"role": "assistant", "content": c.text}, "finish_reason": c.finish_reason or "stop"}]
                done = [c]
                obj = "chat.completion"
            else:
                prompt = payload.get("prompt")
                prompts = [prompt] if isinstance(prompt, str) else prompt
                if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
                    raise ValueError("'prompt' must be a string or a list of strings")
                done = self.backend.complete(prompts, **settings)
                choices = [{"index": i, "text": c.text, "finish_reason": c.finish_reason or "stop"} for i, c in enumerate(done)]
                obj = "text_completion"
        p_tok = sum(c.prompt_tokens for c in done)
        c_tok = sum(c.completion_tokens for c in done)
        with self._lock:
            n = len(self.requests)
        return {
            "id": f"cmpl-{n}",
            "object": obj,
            "created": created,
            "model": self.model,
            "choices": choices,
            "usage": {"prompt_tokens": p_tok, "completion_tokens": c_tok, "total_tokens": p_tok + c_tok},
        }


def _make_handler(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        server_version = "faircausesyn-llm-server/1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default stderr log
            return

        def _send_json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
            body = json.dumps(obj).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _authorized(self) -> bool:
            if server._api_key is None:
                return True
            return self.headers.get("Authorization", "") == f"Bearer {server._api_key}"

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if self.path.rstrip("/").endswith("/models"):
                    self._send_json(200, {"object": "list", "data": [{"id": server.model, "object": "model", "owned_by": "faircausesyn"}]})
                else:
                    self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            with server._lock:
                server._in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server._in_flight)
            self._counted = True
            try:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._post()
            finally:
                self._answering()

        def _answering(self) -> None:
            # a request stops counting as in flight once its answer starts: the
            # client can only send its next request after reading this answer
            if getattr(self, "_counted", False):
                self._counted = False
                with server._lock:
                    server._in_flight -= 1

        def send_response(self, code: int, message: str | None = None) -> None:
            self._answering()
            super().send_response(code, message)

        def _post(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            authorized = self._authorized()
            try:
                payload = json.loads(raw.decode("utf-8")) if raw else {}
            except ValueError:
                payload = None
            rec = RequestRecord(path=self.path, status=None, fault=None, authorized=authorized, payload=payload if isinstance(payload, dict) else {})
            server._record(rec)
            route = self.path.rstrip("/")
            if not (route.endswith("/chat/completions") or route.endswith("/completions")):
                rec.status = 404
                return self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            if not authorized:
                rec.status = 401
                return self._send_json(401, {"error": {"message": "invalid or missing API key", "type": "invalid_request_error"}})
            fault = server._next_fault()
            if fault is not None:
                rec.fault = fault.kind
                if fault.kind == "delay":
                    if server._stopping.wait(fault.seconds):
                        return
                elif fault.kind in ("429", "500", "502", "503"):
                    rec.status = int(fault.kind)
                    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
                    return self._send_json(rec.status, {"error": {"message": f"injected HTTP {fault.kind}", "type": "server_error"}}, headers)
                elif fault.kind == "400":
                    rec.status = 400
                    echoed = {k: v for k, v in self.headers.items()}
                    return self._send_json(400, {"error": {"message": f"bad request; headers were {echoed}", "type": "invalid_request_error"}})
                elif fault.kind == "drop":
                    self._answering()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                elif fault.kind == "malformed":
                    rec.status = 200
                    body = b'{"id": "x", "choices": [{"index": 0, "message": {"rol'
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
            if not isinstance(payload, dict):
                rec.status = 400
                return self._send_json(400, {"error": {"message": "the body is not JSON", "type": "invalid_request_error"}})
            try:
                answer = server._generate(route, payload)
            except (ValueError, KeyError, TypeError) as exc:
                rec.status = 400
                return self._send_json(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
            except Exception as exc:  # noqa: BLE001 - a backend failure is a 500 for the client
                rec.status = 500
                return self._send_json(500, {"error": {"message": f"backend failed: {type(exc).__name__}", "type": "server_error"}})
            rec.status = 200
            if fault is not None and fault.kind == "truncated":
                body = json.dumps(answer).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: max(1, len(body) // 2)])
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send_json(200, answer)

    return Handler


def serve(backend: LLMBackend, faults: Iterable[Fault] = (), **kwargs: Any) -> LLMServer:
    """Start an :class:`LLMServer` for ``backend`` with ``faults`` queued; stop it with ``server.stop()``."""
    server = LLMServer(backend, **kwargs).start()
    if faults:
        server.inject(*faults)
    return server
