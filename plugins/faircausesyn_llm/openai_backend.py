"""An OpenAI-compatible chat-completions endpoint as an LLM backend (vLLM, Ollama, llama.cpp server, hosted APIs).

Uses only the standard library (``urllib``). One HTTP request per prompt or
conversation, ``concurrency`` of them at a time.

Fault handling (the contract):

- timeouts, dropped connections, HTTP 408/409/425/429 and 5xx are retried up
  to ``max_retries`` times with exponential backoff and jitter
  (``backoff_base * 2**attempt``, capped at ``max_backoff``, half of it random);
  a ``Retry-After`` header (seconds or an HTTP date) is honoured: the client
  waits at least that long, and gives the request up when the server asks for
  more than ``max_retry_after`` seconds;
- an answer that arrives but is malformed (not JSON, no ``choices``, no text)
  or truncated (the body ends before its declared length) is not retried: it
  is counted (``usage["malformed"]`` / ``usage["truncated"]``) and returned as
  ``Completion(text="", finish_reason="error")``, so callers drop it like any
  unparseable row; it is not cached;
- a request that exhausts its retries (a dead or overloaded endpoint) stops
  the whole call: it raises :class:`EndpointError` (a ``BackendError``) saying
  what happened, with ``exc.partial`` holding the completions obtained so far
  (``None`` where none was obtained) and every good answer already in the
  cache, so rerunning the same call resumes where it stopped;
- HTTP 401/403 (bad key) and other 4xx (wrong model, bad request) are not
  retried and raise ``EndpointError`` at once.

Secrets: the API key is read from the environment variable ``api_key_env``
(default ``OPENAI_API_KEY``) or from ``api_key_file``, a file outside the
project directory. It is held as a pydantic ``SecretStr``, sent only in the
``Authorization`` header, never part of the configuration, the cache key, the
cache, a log record or an exception message (server error texts are redacted).
Without a key no ``Authorization`` header is sent (fine for local servers).

Prompts: ``chat`` posts to ``{base_url}/chat/completions``; ``complete`` wraps
each prompt as one user message (``prompt_mode="chat"``, the default) or posts
it to ``{base_url}/completions`` (``prompt_mode="completions"``). Request ``i``
of a call gets ``seed + i``, so repeated identical prompts get different,
reproducible answers on servers that honour ``seed``.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import SecretStr, field_validator

from faircausesyn.errors import BackendError, ConfigError
from faircausesyn.interfaces import Completion, LLMBackend, LLMBackendConfig, Message

from .cache import ResponseCache, request_key

log = logging.getLogger("faircausesyn_llm.openai")

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


class EndpointError(BackendError):
    """The endpoint failed for good; ``partial`` holds what was obtained before (None where nothing was)."""

    def __init__(self, message: str, *, hint: str | None = None, partial: list[Completion | None] | None = None, usage: dict[str, Any] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.partial: list[Completion | None] = list(partial or [])
        self.usage: dict[str, Any] = dict(usage or {})


@dataclass
class Usage:
    """Token and request accounting of one backend instance (totals over all calls)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0  # HTTP attempts sent
    answers: int = 0  # good answers received from the endpoint
    cache_hits: int = 0
    retries: int = 0
    timeouts: int = 0
    rate_limited: int = 0  # HTTP 429 answers
    server_errors: int = 0  # HTTP 5xx answers
    connection_errors: int = 0
    malformed: int = 0
    truncated: int = 0
    length_stopped: int = 0  # good answers that hit max_tokens (finish_reason "length")
    failures: int = 0  # requests given up after the retry budget or refused


def project_root(start: Path | None = None) -> Path:
    """The project directory: the nearest folder above ``start`` (cwd) with ``.git`` or ``pyproject.toml``, else ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists() or (folder / "pyproject.toml").exists():
            return folder
    return here


class OpenAIConfig(LLMBackendConfig):
    """Where the endpoint is and how hard to try."""

    #: e.g. ``http://127.0.0.1:8000/v1`` (vLLM), ``http://localhost:11434/v1`` (Ollama), ``https://api.openai.com/v1``
    base_url: str
    #: the model name the endpoint serves
    model: str
    #: name of the environment variable that holds the API key (the key itself is never configuration)
    api_key_env: str = "OPENAI_API_KEY"
    #: a file holding the key (a bare key, or ``NAME=key`` lines); must lie outside the project directory
    api_key_file: str | None = None
    #: seconds to wait for one answer
    timeout: float = 60.0
    max_retries: int = 5
    backoff_base: float = 0.5
    max_backoff: float = 30.0
    #: a Retry-After longer than this (seconds) gives the request up instead of waiting
    max_retry_after: float = 300.0
    #: requests in flight at once
    concurrency: int = 4
    #: directory of the on-disk response cache (None: no cache)
    cache_dir: str | None = None
    #: how ``complete()`` sends a prompt: as one user message, or to the legacy ``/completions`` endpoint
    prompt_mode: Literal["chat", "completions"] = "chat"
    #: extra JSON fields sent with every request (e.g. ``{"top_k": 40}`` for vLLM)
    extra_body: dict[str, Any] = {}

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        parsed = urllib.parse.urlparse(v)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("base_url must be an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
        if parsed.username or parsed.password or parsed.query:
            raise ValueError("base_url must not hold credentials or a query; put the key in the environment variable named by api_key_env")
        return v.rstrip("/")

    @field_validator("api_key_file")
    @classmethod
    def _outside_project(cls, v: str | None) -> str | None:
        if v is None:
            return v
        path = Path(v).expanduser().resolve()
        for root in {project_root(), Path.cwd().resolve()}:
            if path == root or root in path.parents:
                raise ValueError(f"api_key_file must lie outside the project directory {str(root)!r} (keys must never be committed or copied with results)")
        return str(path)

    @field_validator("timeout", "backoff_base", "max_backoff", "max_retry_after")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v < 0:
            raise ValueError("must be >= 0")
        return v

    @field_validator("max_retries")
    @classmethod
    def _retries(cls, v: int) -> int:
        if v < 0:
            raise ValueError("must be >= 0")
        return v

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be >= 1")
        return v


class _GiveUp(Exception):
    """A request that exhausted its retries (internal)."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason, self.attempts = reason, attempts


class _Aborted(Exception):
    """A request not sent because the call already failed (internal)."""


class OpenAIBackend(LLMBackend):
    """Any OpenAI-compatible chat-completions endpoint, with retries, a concurrency limit, a response cache and token accounting."""

    Config: ClassVar[type[OpenAIConfig]] = OpenAIConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._usage = Usage()
        self._key: SecretStr | None = None
        self._key_loaded = False
        self._rng = random.Random(self.config.seed)
        host = urllib.parse.urlparse(self.config.base_url).hostname or ""
        # loopback endpoints never go through a proxy from the environment
        handlers = [urllib.request.ProxyHandler({})] if _is_loopback(host) else []
        self._opener = urllib.request.build_opener(*handlers)
        self._cache = ResponseCache(self.config.cache_dir) if self.config.cache_dir else None

    # -- accounting
    @property
    def usage(self) -> dict[str, int]:
        """Totals so far: tokens, requests, retries, failures, malformed/truncated answers, cache hits."""
        with self._lock:
            return asdict(self._usage)

    def reset_usage(self) -> None:
        """Set every usage counter back to 0."""
        with self._lock:
            self._usage = Usage()

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for k, d in deltas.items():
                setattr(self._usage, k, getattr(self._usage, k) + d)

    # -- secrets
    def _api_key(self) -> SecretStr | None:
        if not self._key_loaded:
            self._key = _read_key(self.config.api_key_env, self.config.api_key_file)
            self._key_loaded = True
        return self._key

    def _redact(self, text: str) -> str:
        key = self._api_key()
        secret = key.get_secret_value() if key is not None else ""
        return text.replace(secret, "***") if secret else text

    def __getstate__(self) -> dict[str, Any]:
        # the key, the lock and the opener are never pickled; the key is re-read from its source
        state = {k: v for k, v in self.__dict__.items() if k not in ("_key", "_lock", "_opener")}
        state["_key_loaded"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._key = None
        self._lock = threading.Lock()
        host = urllib.parse.urlparse(self.config.base_url).hostname or ""
        self._opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if _is_loopback(host) else []))

    # -- the LLMBackend interface
    def _chat(self, conversations: list[list[Message]], params: dict[str, Any]) -> list[Completion]:
        payloads = [{"messages": [dict(m) for m in conv]} for conv in conversations]
        return self._run("/chat/completions", payloads, params)

    def _complete(self, prompts: list[str], params: dict[str, Any]) -> list[Completion]:
        if self.config.prompt_mode == "completions":
            return self._run("/completions", [{"prompt": p} for p in prompts], params)
        return self._chat([[{"role": "user", "content": p}] for p in prompts], params)

    # -- requests
    def _payload(self, body: dict[str, Any], params: dict[str, Any], index: int) -> dict[str, Any]:
        payload = {
            **self.config.extra_body,
            "model": self.config.model,
            **body,
            "temperature": float(params["temperature"]),
            "top_p": float(params["top_p"]),
            "max_tokens": int(params["max_tokens"]),
            "seed": int(params["seed"]) + index,
        }
        if params.get("stop"):
            payload["stop"] = list(params["stop"])
        return payload

    def _run(self, path: str, bodies: list[dict[str, Any]], params: dict[str, Any]) -> list[Completion]:
        results: list[Completion | None] = [None] * len(bodies)
        abort = threading.Event()
        first: BaseException | None = None
        workers = min(self.config.concurrency, max(1, len(bodies)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="faircausesyn-openai") as pool:
            futures = {pool.submit(self._one_or_abort, path, self._payload(b, params, i), abort): i for i, b in enumerate(bodies)}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except _Aborted:
                    pass
                except (_GiveUp, EndpointError) as exc:
                    if first is None:
                        first = exc
                    abort.set()
        if first is not None:
            got = sum(r is not None for r in results)
            cached = " (and in the response cache, so rerunning the same call resumes)" if self._cache else ""
            if isinstance(first, _GiveUp):
                msg = (
                    f"the endpoint {self.config.base_url} gave no answer after {first.attempts} attempt(s) "
                    f"(last: {first.reason}); {got} of {len(bodies)} answer(s) were obtained and are kept in exc.partial{cached}"
                )
                hint = "check that the server is running and base_url is right; raise timeout or max_retries for a slow or busy server"
            else:
                msg = f"{first.message}; {got} of {len(bodies)} answer(s) were obtained and are kept in exc.partial{cached}"
                hint = first.hint
            raise EndpointError(self._redact(msg), hint=hint, partial=results, usage=self.usage)
        return [r if r is not None else Completion("", finish_reason="error") for r in results]

    def _one_or_abort(self, path: str, payload: dict[str, Any], abort: threading.Event) -> Completion:
        # the failing worker stops the call itself, so no request starts after the failure
        try:
            return self._one(path, payload, abort)
        except (_GiveUp, EndpointError):
            abort.set()
            raise

    def _one(self, path: str, payload: dict[str, Any], abort: threading.Event) -> Completion:
        key = None
        if self._cache is not None:
            key = request_key({"endpoint": path, **payload})
            hit = self._cache.get(key)
            if hit is not None and isinstance(hit.get("text"), str):
                self._count(cache_hits=1)
                return Completion(hit["text"], int(hit.get("prompt_tokens", 0)), int(hit.get("completion_tokens", 0)), hit.get("finish_reason"))
        data = json.dumps(payload).encode("utf-8")
        reason = "no attempt"
        attempts = 0
        for attempt in range(self.config.max_retries + 1):
            if abort.is_set():
                raise _Aborted
            if attempt:
                self._count(retries=1)
            attempts += 1
            outcome = self._attempt(path, data)
            if isinstance(outcome, Completion):
                if key is not None and outcome.finish_reason != "error":
                    self._cache.put(key, asdict(outcome))  # type: ignore[union-attr]
                return outcome
            reason, retry_after = outcome
            if retry_after is not None and retry_after > self.config.max_retry_after:
                reason += f"; the server asked to wait {retry_after:.0f} s, more than max_retry_after={self.config.max_retry_after:.0f}"
                break
            if attempt == self.config.max_retries:
                break
            cap = min(self.config.max_backoff, self.config.backoff_base * 2**attempt)
            with self._lock:
                delay = cap / 2 + self._rng.uniform(0, cap / 2)
                if retry_after is not None:
                    delay = retry_after + self._rng.uniform(0, min(1.0, 0.1 * retry_after + 0.05))
            log.info("request to %s failed (%s); retry %d of %d in %.2f s", self.config.base_url + path, reason, attempt + 1, self.config.max_retries, delay)
            if abort.wait(delay):
                raise _Aborted
        self._count(failures=1)
        raise _GiveUp(reason, attempts)

    def _attempt(self, path: str, data: bytes) -> Completion | tuple[str, float | None]:
        """One HTTP request: a Completion (good, or an ``error`` one for a malformed answer), or (reason, retry_after) to retry."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self._api_key()
        if key is not None:
            headers["Authorization"] = "Bearer " + key.get_secret_value()
        request = urllib.request.Request(self.config.base_url + path, data=data, headers=headers, method="POST")
        self._count(requests=1)
        try:
            with self._opener.open(request, timeout=self.config.timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            return self._http_error(exc)
        except http.client.IncompleteRead:
            self._count(truncated=1)
            log.warning("dropped a truncated answer from %s", self.config.base_url + path)
            return Completion("", finish_reason="error")
        except (TimeoutError, socket.timeout):
            self._count(timeouts=1)
            return f"no answer within timeout={self.config.timeout} s", None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                self._count(timeouts=1)
                return f"no answer within timeout={self.config.timeout} s", None
            self._count(connection_errors=1)
            return self._redact(f"cannot connect ({exc.reason})"), None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            self._count(connection_errors=1)
            return self._redact(f"connection failed ({type(exc).__name__}: {exc})"), None
        return self._parse(body, chat=path.endswith("/chat/completions"))

    def _http_error(self, exc: urllib.error.HTTPError) -> tuple[str, float | None]:
        status = exc.code
        try:
            detail = exc.read(2000).decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - the body is only for the message
            detail = ""
        detail = self._redact(" ".join(detail.split()))[:300]
        if status == 429 or status in RETRYABLE_STATUS or status >= 500:
            if status == 429:
                self._count(rate_limited=1)
            elif status >= 500:
                self._count(server_errors=1)
            return f"HTTP {status}", _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        self._count(failures=1)
        if status in (401, 403):
            raise EndpointError(
                f"the endpoint {self.config.base_url} refused the request (HTTP {status}: not authorised)",
                hint=f"put a valid API key in the environment variable {self.config.api_key_env} (or api_key_file)",
            )
        raise EndpointError(
            f"the endpoint {self.config.base_url} rejected the request (HTTP {status}){': ' + detail if detail else ''}",
            hint=f"check model={self.config.model!r}, base_url and the sampling settings",
        )

    def _parse(self, body: bytes, *, chat: bool) -> Completion:
        try:
            data = json.loads(body.decode("utf-8"))
            choice = data["choices"][0]
            text = choice["message"]["content"] if chat else choice["text"]
            if not isinstance(text, str):
                raise TypeError("no text")
            usage = data.get("usage") or {}
            completion = Completion(
                text=text,
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                finish_reason=choice.get("finish_reason"),
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            self._count(malformed=1)
            log.warning("dropped a malformed answer from %s (%d bytes)", self.config.base_url, len(body))
            return Completion("", finish_reason="error")
        self._count(answers=1, prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens)
        if completion.finish_reason == "length":
            self._count(length_stopped=1)
        return completion


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _read_key(env: str, file: str | None) -> SecretStr | None:
    """The API key from the environment variable ``env``, else from ``file``; None when neither has one."""
    value = os.environ.get(env, "").strip()
    if value:
        return SecretStr(value)
    if file is None:
        return None
    path = Path(file)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read api_key_file {str(path)!r} ({exc.strerror})", hint="give a readable file outside the project") from None
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise ConfigError(f"api_key_file {str(path)!r} is readable by other users", hint=f"chmod 600 {path}")
    entries = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    for ln in entries:
        name, sep, rest = ln.partition("=")
        if sep and name.strip().removeprefix("export ").strip() == env:
            return SecretStr(rest.strip().strip("'\""))
    bare = [ln for ln in entries if "=" not in ln]
    if len(bare) == 1:
        return SecretStr(bare[0])
    raise ConfigError(f"api_key_file {str(path)!r} holds no key", hint=f"write the bare key on one line, or a line {env}=<key>")
