"""Layer-wise Relevance Propagation (Bach et al., 2015; Montavon et al., 2019) for our classifiers:
the torch implementation behind the `lrp` explainer (explain/lrp.py), imported when it runs.

Written here because neither library is correct on EfficientNet-Lite (as STACK.md reports): Captum's LRP skips
modules with children (so the padded convs), refuses reused activation modules and breaks
on the static padding; zennit does not propagate through the residual adds (relevance is
not conserved) and folds no BatchNorm by itself. This implementation:

- folds every BatchNorm into the conv or linear layer before it (exactly, eps included);
- uses the gradient trick (Montavon et al. 2019, sec. 10.2): each linear layer's forward
  value is kept while its backward follows the chosen rule, so relevance = input x gradient;
- keeps biases in the rules' denominators (the standard rules): the relevance a bias
  accounts for stays with it, so the map sums to the explained logit minus what the
  biases absorbed (reported), and exactly to the logit when the folded biases are zero;
- passes relevance through ReLU/ReLU6 unchanged (saturated ReLU6 units included) and splits
  it at residual adds in proportion to each branch's contribution (the z-rule);
- applies a first-layer rule on the normalised input: box (z^B, bounded by the pixel range),
  flat, or the same rule as the other convs.

Rules for conv layers: epsilon, gamma, alphabeta (alpha - beta = 1; alpha=1, beta=0 is z+).
Dense layers use epsilon.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from fakelens.models.head import DeepfakeClassifier


def fold_bn(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.modules.batchnorm._BatchNorm):
    """(W, b) of layer-then-BN as one affine layer (eval mode)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    b = bias if bias is not None else torch.zeros_like(bn.running_mean)
    return weight * scale.view(shape), (b - bn.running_mean) * scale + bn.bias


class _PassRelevance(torch.autograd.Function):
    """y = act(z) forward; backward scales the gradient by y / z so that z * g_z = y * g_y."""

    @staticmethod
    def forward(ctx, z, y):
        ctx.save_for_backward(z, y)
        return y.clone()

    @staticmethod
    def backward(ctx, g):
        z, y = ctx.saved_tensors
        ratio = torch.where(z.abs() > 1e-12, y / torch.where(z.abs() > 1e-12, z, torch.ones_like(z)), torch.zeros_like(z))
        return g * ratio, None


def activate(z: torch.Tensor, six: bool) -> torch.Tensor:
    return _PassRelevance.apply(z, F.relu6(z) if six else F.relu(z))


class Rule:
    """How a linear map (conv or dense) redistributes relevance from its outputs to its inputs.

    Biases stay in the denominators, as in the standard rules: the share of relevance a bias
    accounts for stays with it. A network whose (folded) biases are zero conserves relevance
    exactly, residual adds included.
    """

    def __init__(self, name: str, epsilon: float, gamma: float, alpha: float, beta: float):
        self.name, self.epsilon, self.gamma, self.alpha, self.beta = name, epsilon, gamma, alpha, beta

    def stab(self, z: torch.Tensor) -> torch.Tensor:
        return z + self.epsilon * torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))

    def _part(self, z: torch.Tensor, zr: torch.Tensor, br: torch.Tensor) -> torch.Tensor:
        """zr * z / (zr + br), with gradient only through zr: its inputs receive their share."""
        den = (zr + br).detach()
        dead = den.abs() <= 1e-9  # no contributions at all: pass nothing rather than divide by ~0
        c = torch.where(dead, torch.zeros_like(z), z.detach() / self.stab(torch.where(dead, torch.ones_like(den), den)))
        return zr * c + (br * c).detach()

    def apply(self, a: torch.Tensor, w: torch.Tensor, b: torch.Tensor, op) -> torch.Tensor:
        """Forward value op(a, w) + b (up to epsilon), with the rule's backward (gradient trick)."""
        shape = (1, -1) + (1,) * (a.dim() - 2)
        b = b.view(shape)
        z = op(a, w) + b
        if self.name == "epsilon":
            return self._part(z, op(a, w), b)
        # Positive and negative contributions, for signed inputs too (residual streams are signed).
        ap, an = a.clamp(min=0), a.clamp(max=0)
        wp, wn = w.clamp(min=0), w.clamp(max=0)
        zp = op(ap, wp) + op(an, wn)
        if self.name == "gamma":
            return self._part(z, op(a, w) + self.gamma * zp, b + self.gamma * b.clamp(min=0))
        out = self.alpha * self._part(z, zp, b.clamp(min=0))
        if self.beta:
            out = out - self.beta * self._part(z, op(ap, wn) + op(an, wp), b.clamp(max=0))
        return out


def _conv_op(conv: nn.Conv2d):
    pad = getattr(conv, "static_padding", None)

    def op(x, w):
        if pad is not None:
            x = pad(x)
        return F.conv2d(x, w, None, conv.stride, conv.padding if pad is None else 0, conv.dilation, conv.groups)

    return op


def _linear_op(x, w):
    return F.linear(x, w)


class LRP:
    """Relevance of a DeepfakeClassifier's logit, walked layer by layer (see the module's docstring)."""

    def __init__(self, model: DeepfakeClassifier):
        if not isinstance(model, DeepfakeClassifier):
            raise TypeError("lrp needs a fakelens DeepfakeClassifier")
        self.model = model

    # -- the network, walked with folded BN and rule-bearing layers ------------------------------
    def _conv_bn(self, x, conv, bn, rule: Rule):
        w, b = fold_bn(conv.weight, conv.bias, bn)
        return rule.apply(x, w, b, _conv_op(conv))

    def _features(self, xn: torch.Tensor, rule: Rule, store: dict) -> torch.Tensor:
        bb = self.model.backbone
        net = getattr(bb, "net", None)
        if net is None:  # a plain nn.Sequential of Conv2d / BatchNorm2d / ReLU(6) / pooling
            return self._sequential(bb, xn, rule, store)
        # gamma suits layers with non-negative inputs whose outputs pass a ReLU (negative outputs
        # then carry no relevance); convs that read or write the signed residual stream use epsilon.
        signed = Rule("epsilon", rule.epsilon, 0, 1, 0) if rule.name == "gamma" else rule
        first = self._first(xn, net._conv_stem, net._bn0, store)
        x = activate(first, six=True)
        for block in net._blocks:
            inputs = x
            if block._block_args.expand_ratio != 1:
                x = activate(self._conv_bn(x, block._expand_conv, block._bn0, signed), six=True)
            x = activate(self._conv_bn(x, block._depthwise_conv, block._bn1, rule), six=True)
            x = self._conv_bn(x, block._project_conv, block._bn2, signed)
            a = block._block_args
            if a.id_skip and a.stride == 1 and a.input_filters == a.output_filters:
                x = x + inputs  # autograd splits relevance in proportion to x and inputs (z-rule)
        return activate(self._conv_bn(x, net._conv_head, net._bn1, signed), six=True)

    def _sequential(self, seq: nn.Sequential, xn, rule: Rule, store: dict):
        mods = list(seq)
        x, i, first = xn, 0, True
        while i < len(mods):
            m = mods[i]
            if isinstance(m, nn.Conv2d):
                bn = mods[i + 1] if i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d) else None
                if first:
                    x = self._first(x, m, bn, store)
                    first = False
                elif bn is not None:
                    x = self._conv_bn(x, m, bn, rule)
                else:
                    x = rule.apply(x, m.weight, m.bias if m.bias is not None else torch.zeros(m.out_channels), _conv_op(m))
                i += 2 if bn is not None else 1
                continue
            if isinstance(m, (nn.ReLU, nn.ReLU6)):
                x = activate(x, six=isinstance(m, nn.ReLU6))
            elif isinstance(m, (nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Identity, nn.Dropout)):
                x = m(x)  # linear and positive: autograd gives the z-rule
            else:
                raise TypeError(f"lrp: unsupported layer {type(m).__name__}")
            i += 1
        return x

    def _first(self, xn, conv, bn, store):
        """The first conv: keep its input and folded weights for the first-layer rule."""
        w, b = fold_bn(conv.weight, conv.bias, bn) if bn is not None else (conv.weight, conv.bias)
        b = b if b is not None else torch.zeros(conv.out_channels)
        xn = xn.detach().requires_grad_(True)
        z = _conv_op(conv)(xn, w) + b.view(1, -1, 1, 1)
        z.retain_grad()
        store.update(x=xn, z=z, w=w, op=_conv_op(conv))
        return z

    def _head(self, f: torch.Tensor, dense: Rule) -> torch.Tensor:
        h = self.model.head
        x = f.mean((2, 3))
        w, b = fold_bn(h.fc1.weight, h.fc1.bias, h.bn)
        x = activate(dense.apply(x, w, b, _linear_op), six=False)
        return dense.apply(x, h.fc2.weight, h.fc2.bias, _linear_op).squeeze(1)

    # -- relevance -------------------------------------------------------------------------------
    def relevance(self, inputs, target, rule, gamma, epsilon, alpha, beta, first):
        """N x H x W relevance of the fake logit (its negation for target 'real'), summed over channels."""
        conv_rule = Rule(rule, epsilon, gamma, alpha, beta)
        dense = Rule("epsilon", epsilon, 0, 1, 0)
        store: dict = {}
        with torch.enable_grad():
            xn = self.model.normalize(inputs)
            logit = self._head(self._features(xn, conv_rule, store), dense)
            out = logit if target == "fake" else -logit
            # Relevance at the output is the explained logit itself (out x d out/d out).
            z = store["z"]
            (gz,) = torch.autograd.grad(out, z, grad_outputs=torch.ones_like(out))
            r_z = (z * gz).detach()  # relevance at the first layer's outputs
        return self._first_rule(store, r_z, first, conv_rule).sum(1).numpy()

    def _first_rule(self, store, r_z, first: str, rule: Rule) -> torch.Tensor:
        x, w, op = store["x"].detach(), store["w"].detach(), store["op"]
        eps = rule.stab
        if first == "same":
            a = x.clone().requires_grad_(True)
            zr = rule.apply(a, w, torch.zeros(w.shape[0]), op)
            (g,) = torch.autograd.grad(zr, a, grad_outputs=r_z / eps(zr.detach()))
            return a.detach() * g
        if first == "flat":
            ones = torch.ones_like(x, requires_grad=True)
            zf = op(ones, torch.ones_like(w))
            (g,) = torch.autograd.grad(zf, ones, grad_outputs=r_z / eps(zf.detach()))
            return g  # each input gets an equal share of every output it feeds
        # box rule (z^B) on the normalised input, bounded by the pixel range [0, 1]
        mean, std = self.model.normalize.mean, self.model.normalize.std
        lo = torch.full_like(x, float((0 - mean) / std), requires_grad=True)
        hi = torch.full_like(x, float((1 - mean) / std), requires_grad=True)
        a = x.clone().requires_grad_(True)
        zb = op(a, w) - op(lo, w.clamp(min=0)) - op(hi, w.clamp(max=0))
        s = r_z / eps(zb.detach())
        ga, gl, gh = torch.autograd.grad(zb, (a, lo, hi), grad_outputs=s)
        return a.detach() * ga + lo.detach() * gl + hi.detach() * gh
