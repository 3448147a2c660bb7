"""The DECAF networks: one conditional generator per node and a critic on whole rows.

A node's generator sees the encoded values of its parents (and noise):

* a discrete node outputs logits; a row's value is a draw from the categorical
  distribution (straight-through Gumbel-softmax while training, so gradients
  reach the parents' generators);
* a numeric node outputs a location and a scale (in quantile-normal space) plus
  a noise-fed residual network initialised at zero: ``mu + sigma * e0 + r(pa, e)``.

Besides the adversarial signal, each node has a teacher-forced likelihood
(cross-entropy, Gaussian negative log-likelihood) given the real parents: on
a few hundred rows this keeps the conditionals accurate, which the fairness
interventions depend on. ``supervised_weight=0`` gives the purely adversarial
DECAF.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .transform import Block


def mlp(inputs: int, hidden: int, layers: int, outputs: int) -> nn.Sequential:
    """A LeakyReLU multilayer perceptron."""
    mods: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    mods.append(nn.Linear(width, outputs))
    return nn.Sequential(*mods)


class NodeGenerator(nn.Module):
    """The conditional generator of one node given its parents' encodings and noise."""

    def __init__(self, block: Block, parent_width: int, hidden: int, layers: int, noise_dim: int) -> None:
        super().__init__()
        self.discrete = block.discrete
        self.width = block.width
        self.noise_dim = noise_dim
        #: Whether the critic's gradient reaches this (discrete) node through a Gumbel-softmax relaxation.
        self.adversarial_discrete = False
        self.parent_width = parent_width
        inputs = max(parent_width, 1)  # roots get a constant input
        if self.discrete:
            self.head = mlp(inputs, hidden, layers, block.width)
        else:
            self.head = mlp(inputs, hidden, layers, 2)
            self.residual = mlp(inputs + noise_dim, hidden, 1, 1)
            last = self.residual[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def _inputs(self, parents: torch.Tensor) -> torch.Tensor:
        if self.parent_width == 0:
            return torch.ones(parents.shape[0], 1)
        return parents

    def distribution(self, parents: torch.Tensor) -> torch.Tensor:
        """Logits (discrete) or (mu, log sigma) (numeric) given the parents."""
        return self.head(self._inputs(parents))

    def supervised_loss(self, parents: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of the real ``target`` block given the real parents."""
        out = self.distribution(parents)
        if self.discrete:
            return F.cross_entropy(out, target.argmax(dim=1))
        mu, log_sigma = out[:, :1], out[:, 1:].clamp(-6.0, 3.0)
        z = (target - mu) / log_sigma.exp()
        return (0.5 * z.pow(2) + log_sigma).mean() + 0.5 * math.log(2 * math.pi)

    def forward(self, parents: torch.Tensor, noise: torch.Tensor, tau: float, hard: bool) -> torch.Tensor:
        """A generated block given the parents and ``noise`` (uniforms for discrete, normals for numeric).

        ``hard=True`` returns exact one-hot draws (sampling); otherwise a
        straight-through Gumbel-softmax sample at temperature ``tau`` (training).
        """
        out = self.distribution(parents)
        if self.discrete:
            gumbel = -torch.log(-torch.log(noise.clamp(1e-10, 1 - 1e-7)))
            scores = out + gumbel
            index = scores.argmax(dim=1, keepdim=True)
            one_hot = torch.zeros_like(out).scatter_(1, index, 1.0)
            if hard or not self.adversarial_discrete:
                return one_hot
            soft = F.softmax(scores / tau, dim=1)
            return one_hot + soft - soft.detach()
        mu, log_sigma = out[:, :1], out[:, 1:].clamp(-6.0, 3.0)
        base = mu + log_sigma.exp() * noise[:, :1]
        return base + self.residual(torch.cat([self._inputs(parents), noise], dim=1))

    def noise_shape(self, n: int) -> tuple[int, int]:
        """Shape of the noise one forward pass of ``n`` rows needs."""
        return (n, self.width) if self.discrete else (n, self.noise_dim)


class Critic(nn.Module):
    """WGAN critic on whole encoded rows."""

    def __init__(self, width: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.net = mlp(width, hidden, layers, 1)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.net(rows)


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al., 2017) on interpolates between real and fake rows."""
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    out = critic(mix)
    (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
    return (grad.norm(2, dim=1) - 1).pow(2).mean()


class DecafModel(nn.Module):
    """All node generators (in topological order) and the critic, as one module for checkpoints."""

    def __init__(
        self,
        order: list[str],
        parents: dict[str, list[str]],
        blocks: dict[str, Block],
        hidden: int,
        layers: int,
        noise_dim: int,
        critic_hidden: int,
        critic_layers: int,
    ) -> None:
        super().__init__()
        self.order = list(order)
        self.parents = {k: list(v) for k, v in parents.items()}
        self.blocks = blocks
        self.nodes = nn.ModuleList(
            NodeGenerator(blocks[n], sum(blocks[p].width for p in self.parents[n]), hidden, layers, noise_dim)
            for n in self.order
        )
        self.critic = Critic(sum(b.width for b in blocks.values()), critic_hidden, critic_layers)

    def node(self, name: str) -> NodeGenerator:
        """The generator of one node."""
        return self.nodes[self.order.index(name)]  # type: ignore[return-value]

    def parent_input(self, name: str, values: dict[str, torch.Tensor], n: int) -> torch.Tensor:
        """The parents' encodings of ``name`` concatenated (an empty (n, 0) tensor for a root)."""
        ps = self.parents[name]
        if not ps:
            return torch.zeros(n, 0)
        return torch.cat([values[p] for p in ps], dim=1)

    def to_rows(self, values: dict[str, torch.Tensor], table_order: list[str]) -> torch.Tensor:
        """Blocks concatenated in table (schema) order, as the critic sees rows."""
        return torch.cat([values[c] for c in table_order], dim=1)
