"""``tabular_lm``: a small GPT-2 trained from scratch on serialised rows.

The tokenizer is built from the data (:mod:`.serialize`): one token per
(column, category) or (column, quantile bin), a row being ``<bos>`` followed by
one value token per column in the causal order. The model is a
``transformers`` GPT-2 (a few layers, tens of dimensions), trained with the loss
restricted to each column's own value tokens, which is exactly the
distribution constrained decoding samples from. Decoding is a hand-written
loop over columns (one forward pass per column, the sequences are short), so
that an intervention can substitute context tokens for the pass that predicts
a given column (see :meth:`TabularLM.sample_tokens`). It can also start from
any local causal-LM checkpoint (``init_from``) whose transformer blocks are
then fine-tuned with new embeddings for the data's tokens.

Model files are safetensors; the configuration, vocabulary and state are JSON.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from faircausesyn import LLMBackend
from faircausesyn.errors import BackendError, CheckpointError, DataError, NotFittedError
from faircausesyn.interfaces import Completion, LLMBackendConfig
from faircausesyn.io import atomic_path, atomic_write_text

from .serialize import BOS, EOS, PAD, TableVocab

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "gpt2_config.json"
VOCAB_FILE = "vocab.json"
STATE_FILE = "state.json"
STATE_FORMAT = "faircausesyn-tabular-lm/2"


class TabularLMConfig(LLMBackendConfig):
    """Architecture, training and sampling settings of the tabular LM.

    Sampling defaults to temperature 1 and no nucleus cut, which samples the
    learned distribution itself (what a synthetic table needs).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 1024
    batch_size: int = 1024
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    dropout: float = 0.1
    n_bins: int = 20
    #: 40: on the shipped 220-440-row tables the held-out NLL is lower than at 80 epochs, where the
    #: model memorises Y given W (held-out NLL of Y worse than its marginal's)
    epochs: int = 40
    #: cap on optimizer steps: small tables train all ``epochs``; a large table (where an epoch is
    #: many steps) stops at the cap, which keeps training time bounded as rows grow
    max_steps: int = 2500
    patience: int = 25
    lr: float = 1e-3
    weight_decay: float = 0.01
    train_batch_size: int = 64
    #: share of rows held out for early stopping; 0 (default) trains all ``epochs`` on every row:
    #: on 200-500 rows the held-out loss is too noisy and stopped training before Y's
    #: dependence on W was learned (TSTR AUC 0.46-0.62 against 0.75-0.87 without it)
    val_fraction: float = 0.0
    threads: int = 1
    init_from: str | None = None


@dataclass(frozen=True)
class TokenCut:
    """An intervention at decoding time, in column indices of the vocabulary.

    When column ``target`` is decoded, the context value of column ``source`` is
    replaced by ``token`` (``mode="reference"``) or by the source value of another,
    randomly chosen row of the batch (``mode="independent"``).
    """

    source: int
    target: int
    mode: Literal["reference", "independent"]
    token: int = -1


class TabularLM(LLMBackend):
    """A trainable text backend: a tiny GPT-2 over a tokenizer built from the table."""

    Config: ClassVar[type[TabularLMConfig]] = TabularLMConfig  # type: ignore[assignment]
    trainable: ClassVar[bool] = True

    # ------------------------------------------------------------ training
    def train_table(
        self,
        data: pd.DataFrame,
        order: Sequence[str],
        *,
        kinds: dict[str, str] | None = None,
        decimals: dict[str, int] | None = None,
        weights: np.ndarray | None = None,
    ) -> TabularLM:
        """Build the vocabulary of ``data`` in column ``order`` and train the model on its rows.

        ``weights`` (one per row, e.g. lower for LLM-augmented rows) scale each
        row's loss. Returns ``self``; ``train_report_`` holds epochs, losses, time.
        """
        self.vocab_ = TableVocab.build(data, order, n_bins=self.config.n_bins, kinds=kinds, decimals=decimals)
        self.model_ = None  # a new vocabulary needs a new model
        tokens = self.vocab_.encode(data[list(order)])
        self._train_tokens(tokens, weights)
        return self

    def train(self, texts: Sequence[str], **kwargs: Any) -> None:
        """Train on serialised rows (``"col v | col v | ..."``, one per line).

        With a vocabulary already built (by :meth:`train_table` or a loaded
        checkpoint) the texts continue training it; otherwise a vocabulary with
        one token per distinct word of each column is built from the texts.
        """
        weights = kwargs.pop("weights", None)
        if kwargs:
            raise BackendError(f"unknown training option(s): {', '.join(kwargs)}")
        if getattr(self, "vocab_", None) is None:
            self.vocab_, df = TableVocab.from_texts(texts)
            tokens = self.vocab_.encode(df)
        else:
            lines = [ln for t in texts for ln in str(t).splitlines() if ln.strip()]
            tokens = np.asarray([self.vocab_.text_to_tokens(ln) for ln in lines], dtype=np.int64)
        self._train_tokens(tokens, None if weights is None else np.asarray(weights, dtype=float))

    def _new_model(self) -> Any:
        import torch
        from transformers import AutoModelForCausalLM, GPT2Config

        cfg = self.config
        v = self.vocab_
        if cfg.init_from:
            return self._model_from_checkpoint(cfg.init_from)
        if cfg.n_embd % cfg.n_head:
            raise BackendError(f"n_embd ({cfg.n_embd}) must be a multiple of n_head ({cfg.n_head})")
        gcfg = GPT2Config(
            vocab_size=v.size,
            n_positions=v.seq_len,
            n_embd=cfg.n_embd,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            resid_pdrop=cfg.dropout,
            embd_pdrop=cfg.dropout,
            attn_pdrop=cfg.dropout,
            # exact GELU is one fused kernel; GPT-2's tanh approximation is five, 20% of a step here
            activation_function="gelu",
            bos_token_id=BOS,
            eos_token_id=EOS,
            pad_token_id=PAD,
        )
        torch.manual_seed(int(cfg.seed))
        # eager attention beats SDPA's dispatch on sequences of a few dozen tokens
        return AutoModelForCausalLM.from_config(gcfg, attn_implementation="eager")

    def _model_from_checkpoint(self, path: str) -> Any:
        """A local causal LM (a transformers checkpoint or a TabularLM.save directory), embeddings resized to this vocabulary."""
        from transformers import AutoModelForCausalLM

        p = Path(path)
        if not p.is_dir():
            raise BackendError(f"init_from={path!r} is not a directory", hint="give a local transformers checkpoint (config.json + weights)")
        if (p / STATE_FILE).is_file():  # a checkpoint written by TabularLM.save
            model = TabularLM().load(p).model_
        else:
            try:
                model = AutoModelForCausalLM.from_pretrained(str(p), local_files_only=True)
            except (OSError, ValueError) as exc:
                raise BackendError(f"cannot load a causal LM from {path!r}: {exc}") from None
        npos = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
        if npos is not None and npos < self.vocab_.seq_len:
            raise BackendError(f"the checkpoint handles {npos} positions, a row needs {self.vocab_.seq_len}")
        model.resize_token_embeddings(self.vocab_.size, mean_resizing=False)
        return model

    def _train_tokens(self, tokens: np.ndarray, weights: np.ndarray | None) -> None:
        import torch

        cfg = self.config
        torch.set_num_threads(int(cfg.threads))
        t0 = time.perf_counter()
        n = len(tokens)
        if n < 2:
            raise DataError(f"only {n} row(s) to train the tabular LM on")
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (n,) or (w < 0).any():
            raise DataError("weights must be one non-negative number per row")
        if getattr(self, "model_", None) is None or cfg.init_from:
            self.model_ = self._new_model()
        model = self.model_
        rng = np.random.default_rng(int(cfg.seed))
        perm = rng.permutation(n)
        n_val = int(round(cfg.val_fraction * n)) if n >= 20 and cfg.val_fraction > 0 else 0
        val_idx, tr_idx = perm[:n_val], perm[n_val:]
        x_all = torch.as_tensor(tokens, dtype=torch.long)
        w_all = torch.as_tensor(w, dtype=torch.float32)
        mask = torch.as_tensor(self.vocab_.value_mask())
        add_mask = torch.zeros(mask.shape).masked_fill(~mask, float("-inf"))
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
        gen = torch.Generator().manual_seed(int(cfg.seed))
        torch.manual_seed(int(cfg.seed))
        best, best_state, bad, history = math.inf, None, 0, []
        epochs_run = 0
        steps_per_epoch = max(1, math.ceil(len(tr_idx) / cfg.train_batch_size))
        total = max(1, min(cfg.epochs * steps_per_epoch, int(cfg.max_steps)))
        step = 0
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20) * max(0.05, 1 - s / total))
        tr_t = torch.as_tensor(tr_idx)
        for epoch in range(cfg.epochs):
            model.train()
            order = tr_t[torch.randperm(len(tr_t), generator=gen)]
            tot, cnt = 0.0, 0.0
            for b in range(0, len(order), cfg.train_batch_size):
                idx = order[b : b + cfg.train_batch_size]
                loss_rows = self._row_loss(model, x_all[idx], add_mask)
                wb = w_all[idx]
                loss = (loss_rows * wb).sum() / wb.sum().clamp_min(1e-8)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                tot += float((loss_rows.detach() * wb).sum())
                cnt += float(wb.sum())
                step += 1
                if step >= total:
                    break
            epochs_run = epoch + 1
            train_loss = tot / max(cnt, 1e-8)
            if n_val:
                model.eval()
                with torch.no_grad():
                    vl = self._row_loss(model, x_all[torch.as_tensor(val_idx)], add_mask)
                    wv = w_all[torch.as_tensor(val_idx)]
                    val_loss = float((vl * wv).sum() / wv.sum().clamp_min(1e-8))
                history.append((train_loss, val_loss))
                if val_loss < best - 1e-4:
                    best, bad = val_loss, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    bad += 1
                    if bad >= cfg.patience:
                        break
            else:
                history.append((train_loss, None))
            if step >= total:
                break
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        self.train_report_ = {
            "rows": int(n),
            "val_rows": int(n_val),
            "epochs": epochs_run,
            "steps": step,
            "best_val_loss": None if best is math.inf else best,
            "final_train_loss": history[-1][0] if history else None,
            "seconds": time.perf_counter() - t0,
            "parameters": int(sum(p.numel() for p in model.parameters())),
        }

    @staticmethod
    def _row_loss(model: Any, x: Any, add_mask: Any) -> Any:
        """Per-row negative log-likelihood of the value tokens, softmax over each column's values."""
        import torch.nn.functional as F

        k = add_mask.shape[0]
        logits = model(input_ids=x[:, :k]).logits  # position p predicts column p's value, at p + 1
        pred = logits + add_mask.unsqueeze(0)
        target = x[:, 1 : k + 1]
        nll = F.cross_entropy(pred.reshape(-1, pred.shape[-1]), target.reshape(-1), reduction="none")
        return nll.view(x.shape[0], k).sum(dim=1)

    # ------------------------------------------------------------ decoding
    def _check_ready(self) -> None:
        if getattr(self, "model_", None) is None or getattr(self, "vocab_", None) is None:
            raise NotFittedError("the tabular LM is not trained", hint="train it (train_table/train) or load a checkpoint first")

    def sample_tokens(
        self,
        n: int,
        *,
        seed: int,
        cuts: Sequence[TokenCut] = (),
        prefix: np.ndarray | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        logit_bias: dict[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Decode ``n`` full token rows along the column order, applying ``cuts``.

        ``prefix`` (``[n, 1 + j]``: bos and ``j`` value tokens) fixes the first ``j`` columns. ``logit_bias``
        maps a column index to an additive bias over the vocabulary for that
        column. Every sampled value is a token of its own column (constrained
        decoding), so every row parses. Deterministic given ``seed``.
        """
        import torch

        self._check_ready()
        cfg = self.config
        torch.set_num_threads(int(cfg.threads))
        temperature = cfg.temperature if temperature is None else float(temperature)
        top_p = cfg.top_p if top_p is None else float(top_p)
        v = self.vocab_
        k = len(v.columns)
        gen = torch.Generator().manual_seed(int(seed) & 0x7FFFFFFFFFFFFFFF)
        seq = torch.full((n, v.seq_len), PAD, dtype=torch.long)
        seq[:, 0] = BOS
        seq[:, -1] = EOS
        start = 0
        if prefix is not None:
            p = torch.as_tensor(np.asarray(prefix), dtype=torch.long)
            if p.ndim != 2 or p.shape[0] != n or not 1 <= p.shape[1] <= k + 1:
                raise BackendError(f"a prefix must have {n} rows and 1 + j tokens (j <= {k})")
            seq[:, : p.shape[1]] = p
            start = p.shape[1] - 1
        mask = torch.as_tensor(v.value_mask())
        by_target: dict[int, list[TokenCut]] = {}
        for cut in cuts:
            by_target.setdefault(cut.target, []).append(cut)
        model = self.model_
        model.eval()
        bs = max(1, int(cfg.batch_size))
        with torch.no_grad():
            for ci in range(start, k):
                ctx_len = ci + 1
                ctx = seq[:, :ctx_len].clone()
                tcuts = by_target.get(ci, [])
                if any(c.mode == "independent" for c in tcuts):
                    other = torch.randperm(n, generator=gen)
                for c in tcuts:
                    pos = c.source + 1
                    if c.source >= ci:
                        raise BackendError(f"cut source column {c.source} is not decoded before target {ci}")
                    ctx[:, pos] = c.token if c.mode == "reference" else seq[other, pos]
                logits = torch.cat([model(input_ids=ctx[b : b + bs]).logits[:, -1, :] for b in range(0, n, bs)])
                logits = logits.float()
                if logit_bias and ci in logit_bias:
                    logits = logits + torch.as_tensor(logit_bias[ci], dtype=torch.float32)
                logits = logits.masked_fill(~mask[ci].unsqueeze(0), float("-inf"))
                probs = _probs(logits, temperature, top_p)
                draw = torch.multinomial(probs, 1, generator=gen).squeeze(1)
                seq[:, ctx_len] = draw
        return seq.numpy()

    def sample_table(self, n: int, *, seed: int, cuts: Sequence[TokenCut] = ()) -> pd.DataFrame:
        """``n`` decoded rows as a DataFrame (numeric bins decoded by drawing training values)."""
        tokens = self.sample_tokens(n, seed=seed, cuts=cuts)
        return self.vocab_.decode(tokens, np.random.default_rng([int(seed) & 0xFFFFFFFF, 1]))

    def _complete(self, prompts: list[str], params: dict[str, Any]) -> list[Completion]:
        """Continue each prompt's last line (a serialised row prefix) with the remaining fields.

        An empty prompt (or one ending in a newline) gets a whole row. ``max_tokens``
        caps the generated tokens (one per column); ``stop`` strings cut the text.
        """
        self._check_ready()
        v = self.vocab_
        out: list[Completion] = []
        rng = np.random.default_rng(int(params["seed"]))
        for i, prompt in enumerate(prompts):
            last = prompt.split("\n")[-1]
            toks = v.text_to_tokens(last, partial=True) if last.strip() else [BOS]
            j = len(toks) - 1
            seqs = self.sample_tokens(
                1,
                seed=int(params["seed"]) + 1000003 * i,
                prefix=np.asarray([toks]),
                temperature=float(params["temperature"]),
                top_p=float(params["top_p"]),
            )
            n_cols = min(len(v.columns) - j, max(0, int(params["max_tokens"])))
            values = seqs[0, j + 1 : j + n_cols + 1].tolist()
            text = v.tokens_to_text(values, rng, start_col=j)
            if j > 0 and text:
                text = " | " + text
            finish = "stop" if j + n_cols == len(v.columns) else "length"
            for s in params.get("stop") or []:
                if s and s in text:
                    text, finish = text[: text.index(s)], "stop"
            out.append(Completion(text=text, prompt_tokens=len(toks), completion_tokens=n_cols, finish_reason=finish))
        return out

    def _chat(self, conversations: list[list[Any]], params: dict[str, Any]) -> list[Completion]:
        """A tabular LM has no chat format: it answers with a row, continuing the last message's
        last line when that line is a serialised row prefix, else writing a whole row."""
        prompts = []
        for conv in conversations:
            last = (conv[-1]["content"] if conv else "").split("\n")[-1]
            try:
                self.vocab_.text_to_tokens(last, partial=True) if getattr(self, "vocab_", None) is not None else None
            except DataError:
                last = ""
            prompts.append(last)
        return self._complete(prompts, params)

    # ------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> None:
        """Write the model (safetensors), its GPT-2 config, the vocabulary and state (JSON) to ``directory``.

        Each file is written atomically; ``state.json`` (written last) records the
        sha256 of the others, so a torn or corrupted checkpoint is detected on load.
        """
        import safetensors.torch as st

        self._check_ready()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        with atomic_path(d / MODEL_FILE) as tmp:
            st.save_model(self.model_, str(tmp))
        atomic_write_text(d / CONFIG_FILE, json.dumps(self.model_.config.to_dict(), indent=1, default=str))
        atomic_write_text(d / VOCAB_FILE, json.dumps(self.vocab_.to_dict()))
        digests = {f: _sha256(d / f) for f in (MODEL_FILE, CONFIG_FILE, VOCAB_FILE)}
        state = {"format": STATE_FORMAT, "sha256": digests, "train_report": getattr(self, "train_report_", None)}
        atomic_write_text(d / STATE_FILE, json.dumps(state, indent=1, default=str))

    def load(self, directory: str | Path) -> TabularLM:
        """Load a model written by :meth:`save`; a missing or corrupted file raises :class:`CheckpointError`."""
        import safetensors.torch as st
        from transformers import AutoConfig, AutoModelForCausalLM

        d = Path(directory)
        try:
            state = json.loads((d / STATE_FILE).read_text(encoding="utf-8"))
            digests = state["sha256"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"no readable tabular LM checkpoint in {str(d)!r}: {exc}", hint="delete it and fit again") from None
        if state.get("format") != STATE_FORMAT:
            raise CheckpointError(f"the tabular LM checkpoint in {str(d)!r} has format {state.get('format')!r}, this version reads {STATE_FORMAT!r}", hint="delete it and fit again")
        for f, h in digests.items():
            if not (d / f).is_file() or _sha256(d / f) != h:
                raise CheckpointError(f"checkpoint file {str(d / f)!r} is missing or corrupted (checksum mismatch)", hint="delete the checkpoint directory and fit again")
        try:
            vocab = TableVocab.from_dict(json.loads((d / VOCAB_FILE).read_text(encoding="utf-8")))
            cfg_dict = json.loads((d / CONFIG_FILE).read_text(encoding="utf-8"))
            model_type = cfg_dict.pop("model_type", "gpt2")
            gcfg = AutoConfig.for_model(model_type, **cfg_dict)
            model = AutoModelForCausalLM.from_config(gcfg)
            missing, unexpected = st.load_model(model, str(d / MODEL_FILE), strict=False)
            if unexpected or any("attn.bias" not in m and "masked_bias" not in m for m in missing):
                raise ValueError(f"weights do not match the model (missing {missing}, unexpected {unexpected})")
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to read a checkpoint is a CheckpointError
            raise CheckpointError(f"cannot load the tabular LM from {str(d)!r}: {exc}", hint="delete the checkpoint and fit again") from None
        model.eval()
        self.model_, self.vocab_ = model, vocab
        self.train_report_ = state.get("train_report")
        return self


def _probs(logits: Any, temperature: float, top_p: float) -> Any:
    import torch

    if temperature <= 0:
        idx = logits.argmax(dim=1, keepdim=True)
        return torch.zeros_like(logits).scatter_(1, idx, 1.0)
    probs = torch.softmax(logits / temperature, dim=1)
    if top_p < 1.0:
        sp, si = probs.sort(dim=1, descending=True)
        keep = sp.cumsum(dim=1) - sp < top_p
        sp = sp * keep
        probs = torch.zeros_like(probs).scatter_(1, si, sp)
        probs = probs / probs.sum(dim=1, keepdim=True)
    return probs


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
