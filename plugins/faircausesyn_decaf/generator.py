"""``decaf``: a DECAF-style causally-aware GAN (van Breugel et al., NeurIPS 2021) in torch.

One conditional generator per node of the causal graph runs in topological
order, each fed its parents' (generated) values and its own noise; a WGAN-GP
critic judges whole rows. Fairness is realised by intervention at sampling
time: for every edge a constraint cuts, the target's generator receives the
reference level the constraint names (e.g. one fixed level of X for Y under
``remove_direct``, x0 for the mediators under ``remove_indirect``) or an independent draw
of the parent (a permutation of the generated column, e.g. Z for X under
``remove_spurious``) instead of the row's own parent value. Training uses the
full graph; the cuts only change how rows are drawn.

Training can be checkpointed (``checkpoint_dir``, ``checkpoint_every``) and
resumed (``resume=True``); all randomness flows from one seeded
``torch.Generator``, so a resumed run ends at the same weights as an
uninterrupted one on CPU.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from faircausesyn import Generator
from faircausesyn.errors import ConfigError, DataError
from faircausesyn.interfaces import EdgeCut, FitContext, GeneratorConfig

from .transform import TableEncoder

#: Settings that may change between an interrupted run and its resumption.
_RESUMABLE_KEYS = ("epochs", "checkpoint_dir", "checkpoint_every", "resume")


class DecafConfig(GeneratorConfig):
    """DECAF settings; the defaults fit a 300-row, 13-column table in seconds on one CPU core."""

    epochs: int = Field(200, ge=1, description="Passes over the data.")
    batch_size: int = Field(64, ge=2, description="Rows per training step.")
    hidden: int = Field(48, ge=1, description="Hidden units of each node's generator.")
    layers: int = Field(2, ge=1, description="Hidden layers of each node's generator.")
    noise_dim: int = Field(4, ge=1, description="Noise inputs of each numeric node.")
    critic_hidden: int = Field(64, ge=1, description="Hidden units of the critic.")
    critic_layers: int = Field(2, ge=1, description="Hidden layers of the critic.")
    critic_steps: int = Field(1, ge=1, description="Critic updates per generator update.")
    lr_generator: float = Field(2e-3, gt=0)
    lr_critic: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0, description="Decoupled weight decay (AdamW) of the node generators.")
    gp_weight: float = Field(10.0, ge=0, description="Weight of the WGAN-GP gradient penalty.")
    adversarial_weight: float = Field(0.1, ge=0, description="Weight of the critic's signal in the generators' loss.")
    supervised_weight: float = Field(
        1.0, ge=0, description="Weight of the teacher-forced likelihood of each node given its real parents (0: pure GAN)."
    )
    tau: float = Field(0.5, gt=0, description="Gumbel-softmax temperature for discrete nodes while training.")
    relax_discrete: bool = Field(
        False,
        description="Pass the critic's gradient to discrete nodes (straight-through Gumbel-softmax). Off by default: "
        "on small tables it biases the discrete conditionals, which then learn from the likelihood alone.",
    )
    validation_fraction: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Rows held out to pick the epoch whose generators have the best validation likelihood "
        "(guards small tables against memorisation); 0 trains on every row and keeps the last epoch.",
    )
    patience: int | None = Field(
        40, ge=1, description="Stop when the validation likelihood has not improved for this many epochs (None: never)."
    )
    checkpoint_dir: str | None = Field(None, description="Save the training state here every checkpoint_every epochs.")
    checkpoint_every: int = Field(25, ge=1)
    resume: bool = Field(False, description="Continue from the checkpoint in checkpoint_dir (from scratch if there is none).")


class DecafGenerator(Generator):
    """DECAF-style causal GAN: a generator per node along the DAG, WGAN-GP critic; removes any pathway by intervention."""

    Config: ClassVar[type[DecafConfig]] = DecafConfig
    removable_pathways: ClassVar[frozenset[str]] = frozenset({"direct", "indirect", "spurious"})
    handles_missing: ClassVar[bool] = False

    # ------------------------------------------------------------------ fit
    def _fingerprint(self, data: pd.DataFrame, ctx: FitContext) -> str:
        cfg = {k: v for k, v in self.config.model_dump().items() if k not in _RESUMABLE_KEYS}
        h = hashlib.sha256()
        h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
        h.update(json.dumps(ctx.schema.to_dict(), sort_keys=True, default=str).encode())
        h.update(json.dumps(sorted(map(list, ctx.graph.edges)), default=str).encode())
        h.update(json.dumps(cfg, sort_keys=True, default=str).encode())
        return h.hexdigest()

    def _fit(self, data: pd.DataFrame, ctx: FitContext) -> None:
        import torch

        from .checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
        from .networks import DecafModel, gradient_penalty

        c = self.config
        if c.resume and not c.checkpoint_dir:
            raise ConfigError("resume=True needs checkpoint_dir", hint="set checkpoint_dir=PATH to the folder of the interrupted run")
        encoder = TableEncoder(ctx.schema).fit(data)
        order = ctx.graph.topological_order()
        parents = {n: ctx.graph.parents(n) for n in order}
        table_order = ctx.schema.names
        cuts = self._prepare_cuts(ctx.interventions, encoder, parents)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            model = DecafModel(order, parents, encoder.blocks, c.hidden, c.layers, c.noise_dim, c.critic_hidden, c.critic_layers)
        for node in model.nodes:
            node.adversarial_discrete = c.relax_discrete
        gen_params = [p for m in model.nodes for p in m.parameters()]
        opt_g = torch.optim.AdamW(gen_params, lr=c.lr_generator, betas=(0.5, 0.9), weight_decay=c.weight_decay)
        opt_d = torch.optim.Adam(model.critic.parameters(), lr=c.lr_critic, betas=(0.5, 0.9))
        optimizers = {"generator": opt_g, "critic": opt_d}
        rng = torch.Generator().manual_seed(ctx.seed)

        encoded = torch.tensor(encoder.encode(data), dtype=torch.float32)
        n_val = int(round(c.validation_fraction * len(data))) if len(data) >= 20 else 0
        split = torch.randperm(len(data), generator=rng)
        real_all, val_all = encoded[split[n_val:]], encoded[split[:n_val]]
        real_blocks = {k: real_all[:, b.start : b.stop] for k, b in encoder.blocks.items()}
        val_blocks = {k: val_all[:, b.start : b.stop] for k, b in encoder.blocks.items()}
        n = len(real_all)
        bs = min(c.batch_size, n)

        fingerprint = self._fingerprint(data, ctx)
        start, history, resumed_from = 0, [], None
        best: dict[str, Any] = {"loss": math.inf, "epoch": 0, "state": None}
        if c.resume and c.checkpoint_dir and has_checkpoint(c.checkpoint_dir):
            start, history, extra_t, extra_m = load_checkpoint(
                c.checkpoint_dir, model=model, optimizers=optimizers, rng=rng, fingerprint=fingerprint
            )
            resumed_from = start
            if extra_t:
                best = {"loss": float(extra_m["best_loss"]), "epoch": int(extra_m["best_epoch"]), "state": extra_t}
            if extra_m.get("stopped"):
                start = c.epochs  # the interrupted run had already stopped early: nothing left to train

        def validation_loss() -> float:
            with torch.no_grad():
                total = sum(
                    float(node.supervised_loss(model.parent_input(name, val_blocks, n_val), val_blocks[name]))
                    for name, node in zip(model.order, model.nodes, strict=True)
                )
            return total

        for epoch in range(start, c.epochs):
            perm = torch.randperm(n, generator=rng)
            sums = {"critic": 0.0, "adversarial": 0.0, "supervised": 0.0}
            steps = 0
            for b0 in range(0, n, bs):
                idx = perm[b0 : b0 + bs]
                if len(idx) < 2:
                    continue
                real = real_all[idx]
                m = len(idx)
                for _ in range(c.critic_steps):
                    with torch.no_grad():
                        fake = model.to_rows(self._ancestral(model, m, rng, tau=c.tau, hard=False), table_order)
                    alpha = torch.rand(m, 1, generator=rng)
                    loss_d = model.critic(fake).mean() - model.critic(real).mean()
                    if c.gp_weight > 0:
                        loss_d = loss_d + c.gp_weight * gradient_penalty(model.critic, real, fake, alpha)
                    opt_d.zero_grad(set_to_none=True)
                    loss_d.backward()
                    opt_d.step()
                fake = model.to_rows(self._ancestral(model, m, rng, tau=c.tau, hard=False), table_order)
                adv = -model.critic(fake).mean()
                sup = torch.zeros(())
                if c.supervised_weight > 0:
                    batch = {k: v[idx] for k, v in real_blocks.items()}
                    for name, node in zip(model.order, model.nodes, strict=True):
                        sup = sup + node.supervised_loss(model.parent_input(name, batch, m), batch[name])
                loss_g = c.adversarial_weight * adv + c.supervised_weight * sup
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                sums["critic"] += float(loss_d.detach())
                sums["adversarial"] += float(adv.detach())
                sums["supervised"] += float(sup.detach())
                steps += 1
            record = {k: v / max(steps, 1) for k, v in sums.items()}
            if n_val:
                record["validation"] = validation_loss()
                if record["validation"] < best["loss"]:
                    state = {k: v.detach().clone() for k, v in model.nodes.state_dict().items()}
                    best = {"loss": record["validation"], "epoch": epoch + 1, "state": state}
            history.append({"epoch": epoch + 1, **record})
            if not all(math.isfinite(v) for v in record.values()):
                raise DataError(
                    f"DECAF training diverged at epoch {epoch + 1} (losses {record})",
                    hint="lower lr_generator/lr_critic or adversarial_weight",
                )
            if ctx.progress and ((epoch + 1) % max(1, c.epochs // 10) == 0 or epoch + 1 == c.epochs):
                print(
                    f"decaf epoch {epoch + 1}/{c.epochs}: critic {record['critic']:.3f} "
                    f"adversarial {record['adversarial']:.3f} supervised {record['supervised']:.3f}",
                    file=sys.stderr,
                )
            stop = bool(n_val and c.patience is not None and epoch + 1 - best["epoch"] >= c.patience)
            if c.checkpoint_dir and ((epoch + 1) % c.checkpoint_every == 0 or epoch + 1 == c.epochs or stop):
                save_checkpoint(
                    c.checkpoint_dir, model=model, optimizers=optimizers, rng=rng, epoch=epoch + 1,
                    fingerprint=fingerprint, history=history,
                    extra_tensors=best["state"], extra_meta={"best_loss": best["loss"], "best_epoch": best["epoch"], "stopped": stop},
                )
            if stop:
                break

        if best["state"] is not None:
            model.nodes.load_state_dict(best["state"])
        model.eval()
        self.model_, self.encoder_, self.cuts_, self.history_ = model, encoder, cuts, history
        self.table_order_ = table_order
        ctx.report["decaf"] = {
            "epochs": c.epochs,
            "epochs_trained": history[-1]["epoch"] if history else 0,
            "resumed_from_epoch": resumed_from,
            "validation_rows": n_val,
            "best_epoch": best["epoch"] if best["state"] is not None else None,
            "final_losses": history[-1] if history else None,
            "interventions": [
                {"source": cut.source, "target": cut.target, "mode": cut.mode, "value": _jsonable(cut.value)}
                for cut in ctx.interventions
            ],
        }

    @staticmethod
    def _prepare_cuts(
        interventions: list[EdgeCut], encoder: TableEncoder, parents: dict[str, list[str]]
    ) -> dict[str, dict[str, Any]]:
        """Per target: ``{"reference": {parent: encoded value}, "independent": [parents]}`` (checked at fit)."""
        cuts: dict[str, dict[str, Any]] = {}
        for cut in interventions:
            if cut.source not in parents.get(cut.target, []):
                raise DataError(f"cannot cut {cut.source} -> {cut.target}: it is not an edge of the graph")
            entry = cuts.setdefault(cut.target, {"reference": {}, "independent": []})
            if cut.mode == "reference":
                entry["reference"][cut.source] = encoder.encode_value(cut.source, cut.value)
            else:
                entry["independent"].append(cut.source)
        return cuts

    @staticmethod
    def _ancestral(model: Any, n: int, rng: Any, *, tau: float, hard: bool, cuts: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """Generate ``n`` rows node by node in topological order, applying ``cuts`` to the parents' inputs."""
        import torch

        values: dict[str, torch.Tensor] = {}
        for name, node in zip(model.order, model.nodes, strict=True):
            inputs = dict(values)
            cut = (cuts or {}).get(name)
            if cut:
                if cut["independent"]:
                    perm = torch.randperm(n, generator=rng)
                    for p in cut["independent"]:
                        inputs[p] = values[p][perm]
                for p, enc in cut["reference"].items():
                    inputs[p] = torch.as_tensor(enc, dtype=torch.float32).expand(n, -1)
            pa = model.parent_input(name, inputs, n)
            shape = node.noise_shape(n)
            noise = torch.rand(shape, generator=rng) if node.discrete else torch.randn(shape, generator=rng)
            values[name] = node(pa, noise, tau, hard)
        return values

    # ---------------------------------------------------------------- sample
    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        import torch

        rng = torch.Generator().manual_seed(int(seed) % (2**63))
        with torch.no_grad():
            values = self._ancestral(self.model_, n, rng, tau=self.config.tau, hard=True, cuts=self.cuts_)
        out = {name: self.encoder_.decode_column(name, values[name].numpy()) for name in self.table_order_}
        return pd.DataFrame(out)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v
