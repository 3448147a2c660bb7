"""Training checkpoints: tensors in safetensors, everything else in a JSON sidecar; never pickle.

A checkpoint is two files in the checkpoint directory:

* ``decaf.safetensors``: the networks' weights, the optimisers' moment tensors
  and the random generator's state;
* ``decaf.json``: format version, epoch, a fingerprint of the data, graph and
  model settings, the optimisers' hyper-parameters, the loss history and the
  SHA-256 of the tensor file.

Both are written atomically, tensors first, so a crash leaves the previous
checkpoint intact. Loading checks the format, the hash and the fingerprint;
any mismatch or unreadable file is a :class:`CheckpointError` that says what
is wrong.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from faircausesyn.errors import CheckpointError
from faircausesyn.io import atomic_path, atomic_write_text

FORMAT = "faircausesyn-decaf-checkpoint"
VERSION = 1
TENSORS = "decaf.safetensors"
SIDECAR = "decaf.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Put an optimiser's per-parameter tensors into ``tensors``; return its JSON-able rest."""
    sd = opt.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{idx}.{key}"] = value.detach().clone().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return {"param_groups": sd["param_groups"], "scalars": scalars}


def _restore_optimizer(prefix: str, opt: torch.optim.Optimizer, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    for idx, extra in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(extra)
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    directory: str | Path,
    *,
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    rng: torch.Generator,
    epoch: int,
    fingerprint: str,
    history: list[dict[str, float]],
    extra_tensors: dict[str, torch.Tensor] | None = None,
    extra_meta: dict[str, Any] | None = None,
) -> Path:
    """Write the training state after ``epoch`` to ``directory``; returns the sidecar's path.

    ``extra_tensors`` (e.g. the best weights so far) and ``extra_meta`` (JSON-able)
    are stored alongside and returned by :func:`load_checkpoint`.
    """
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    opt_meta = {name: _flatten_optimizer(f"opt_{name}", opt, tensors) for name, opt in optimizers.items()}
    tensors["rng.state"] = rng.get_state().clone()
    for k, v in (extra_tensors or {}).items():
        tensors[f"extra.{k}"] = v.detach().clone().contiguous()
    with atomic_path(d / TENSORS) as tmp:
        save_file(tensors, str(tmp))
    sidecar = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(epoch),
        "fingerprint": fingerprint,
        "tensors_sha256": _sha256(d / TENSORS),
        "optimizers": opt_meta,
        "history": history,
        "extra": extra_meta or {},
    }
    atomic_write_text(d / SIDECAR, json.dumps(sidecar, indent=1))
    return d / SIDECAR


def has_checkpoint(directory: str | Path) -> bool:
    """True when ``directory`` holds a checkpoint sidecar."""
    return (Path(directory) / SIDECAR).is_file()


def load_checkpoint(
    directory: str | Path,
    *,
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    rng: torch.Generator,
    fingerprint: str,
) -> tuple[int, list[dict[str, float]], dict[str, torch.Tensor], dict[str, Any]]:
    """Restore the training state from ``directory``; returns (epoch, loss history, extra tensors, extra meta).

    Raises :class:`CheckpointError` when the files are missing, unreadable,
    corrupted (hash mismatch) or were written for other data or settings.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(directory)
    side, tens = d / SIDECAR, d / TENSORS
    hint = f"delete {d} (or choose another checkpoint_dir) to train from scratch"
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint in {d} ({SIDECAR} is missing)", hint=hint) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint sidecar {side} is corrupted: {exc}", hint=hint) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{side} is not a DECAF checkpoint", hint=hint)
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{side} has checkpoint format version {meta.get('version')}, this code reads {VERSION}", hint=hint)
    if not tens.is_file():
        raise CheckpointError(f"checkpoint tensors {tens} are missing", hint=hint)
    if _sha256(tens) != meta.get("tensors_sha256"):
        raise CheckpointError(f"checkpoint tensors {tens} are corrupted (their SHA-256 does not match {SIDECAR})", hint=hint)
    if meta.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"the checkpoint in {d} was written for other data, graph or model settings",
            hint="resume with the same data, spec, graph, constraint-independent settings and seed, or " + hint,
        )
    try:
        tensors = load_file(str(tens))
        model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        model.load_state_dict(model_state, strict=True)
        for name, opt in optimizers.items():
            _restore_optimizer(f"opt_{name}", opt, meta["optimizers"][name], tensors)
        rng.set_state(tensors["rng.state"])
        epoch = int(meta["epoch"])
        history = list(meta.get("history", []))
        extra_tensors = {k[len("extra.") :]: v for k, v in tensors.items() if k.startswith("extra.")}
        extra_meta = dict(meta.get("extra", {}))
    except (SafetensorError, KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint in {d} cannot be restored: {exc}", hint=hint) from None
    return epoch, history, extra_tensors, extra_meta
