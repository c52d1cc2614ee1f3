"""The PyTorch peer of `npm run bench -- training` (bench/training.ts): a Mamba byte LM written in
plain PyTorch as mamba.py (alxndrTL/mamba.py) builds one for CPU, with the selective scan done as
a parallel scan over time, trained with AdamW on cross-entropy of random bytes.

The job comes as JSON, in argv[1] or on stdin:
  {"dModel": 256, "nLayer": 4, "dState": 16, "dConv": 4, "expand": 2, "vocabSize": 256,
   "batchSize": 8, "seqLen": 256, "threads": [1, 2], "warmup": 2, "steps": 3,
   "lr": 2e-3, "betas": [0.9, 0.95], "weightDecay": 0.1, "clip": 1.0, "expectParams": 1817856}
It prints one JSON object: the parameter count beside the expected one, and per thread count the
seconds per training step and tokens per second (best = from the fastest step, and median).
With expectParams given and different it exits with status 3: the comparison would be unfair.
`torch_mamba.py --check` checks the parallel scan and its backward instead.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def scan_pairs(a, b):
    """h[t] = a[t] * h[t-1] + b[t] along dim 1, from h[-1] = 0, as a log-depth associative scan:
    neighbouring pairs combine into one element (a2 a1, a2 b1 + b2), the half-length sequence is
    scanned, and the even positions take one step from the odd result before them. log2(L) levels
    of whole-tensor operations and O(L) work, like a Blelloch scan."""
    length = a.shape[1]
    if length == 1:
        return b
    if length % 2:
        # (1, 0) is the identity of the combine: padding with it leaves every h unchanged.
        a = torch.cat([a, torch.ones_like(a[:, :1])], 1)
        b = torch.cat([b, torch.zeros_like(b[:, :1])], 1)
    a_even, a_odd = a[:, 0::2], a[:, 1::2]
    b_even, b_odd = b[:, 0::2], b[:, 1::2]
    h_odd = scan_pairs(a_odd * a_even, torch.addcmul(b_odd, a_odd, b_even))
    h_even = b_even.clone()
    h_even[:, 1:].addcmul_(a_even[:, 1:], h_odd[:, :-1])
    return torch.stack([h_even, h_odd], 2).flatten(1, 2)[:, :length]


class ParallelScan(torch.autograd.Function):
    """The scan with its adjoint written out: the gradient of h runs the same recurrence backwards
    in time (g[t] = dh[t] + a[t+1] g[t+1]), so the backward pass is one more parallel scan instead
    of autograd through every level of the forward one."""

    @staticmethod
    def forward(ctx, a, b):
        h = scan_pairs(a, b)
        ctx.save_for_backward(a, h)
        return h

    @staticmethod
    def backward(ctx, grad_h):
        a, h = ctx.saved_tensors
        a_next = torch.cat([a[:, 1:], torch.zeros_like(a[:, :1])], 1)
        grad_b = scan_pairs(a_next.flip(1), grad_h.flip(1)).flip(1)
        grad_a = torch.zeros_like(h)
        grad_a[:, 1:] = h[:, :-1] * grad_b[:, 1:]
        return grad_a, grad_b


class RMSNorm(nn.Module):
    def __init__(self, width, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Mixer(nn.Module):
    """in_proj, depthwise causal conv, SiLU, x_proj into (dt, B, C), dt_proj + softplus, the
    selective scan, D skip, silu(z) gate, out_proj: the reference Mamba mixer's parameters."""

    def __init__(self, d_model, d_state, d_conv, expand):
        super().__init__()
        d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16)
        self.d_state = d_state
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_inner)
        # The reference's step-size start: dt log-uniform in [0.001, 0.1], stored as softplus^-1(dt).
        nn.init.uniform_(self.dt_proj.weight, -self.dt_rank**-0.5, self.dt_rank**-0.5)
        dt = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)

    def forward(self, hidden):
        length = hidden.shape[1]
        x, z = self.in_proj(hidden).chunk(2, -1)
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :length].transpose(1, 2))
        dt, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], -1)
        delta = F.softplus(self.dt_proj(dt))
        a = torch.exp(delta.unsqueeze(-1) * -torch.exp(self.A_log))
        b = (delta * x).unsqueeze(-1) * B.unsqueeze(2)
        h = ParallelScan.apply(a, b)
        y = (h @ C.unsqueeze(-1)).squeeze(-1) + self.D * x
        return self.out_proj(y * F.silu(z))


class Block(nn.Module):
    def __init__(self, job):
        super().__init__()
        self.norm = RMSNorm(job["dModel"])
        self.mixer = Mixer(job["dModel"], job["dState"], job["dConv"], job["expand"])

    def forward(self, x):
        return x + self.mixer(self.norm(x))


class MambaLM(nn.Module):
    """Embedding, pre-norm residual blocks, final RMSNorm, and the head tied to the embedding."""

    def __init__(self, job):
        super().__init__()
        self.embedding = nn.Embedding(job["vocabSize"], job["dModel"])
        nn.init.normal_(self.embedding.weight, std=0.02)
        self.layers = nn.ModuleList(Block(job) for _ in range(job["nLayer"]))
        self.norm_f = RMSNorm(job["dModel"])

    def forward(self, ids):
        x = self.embedding(ids)
        for layer in self.layers:
            x = layer(x)
        return self.norm_f(x) @ self.embedding.weight.T


def optimizer(model, job):
    """AdamW with decay on the matrices only (not on norms, biases, A_log or D), as mamba-ts trains."""
    decay, plain = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and not name.endswith("A_log") else plain).append(p)
    groups = [{"params": decay, "weight_decay": job["weightDecay"]}, {"params": plain, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=job["lr"], betas=tuple(job["betas"]), foreach=True)


def time_training(job, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = MambaLM(job)
    opt = optimizer(model, job)
    ids = torch.randint(0, job["vocabSize"], (job["batchSize"], job["seqLen"] + 1))
    inputs, targets = ids[:, :-1], ids[:, 1:].reshape(-1)

    def step():
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), job["clip"])
        opt.step()

    for _ in range(job["warmup"]):
        step()
    seconds = []
    for _ in range(job["steps"]):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    tokens = job["batchSize"] * job["seqLen"]
    median = seconds[len(seconds) // 2]
    return {
        "threads": threads,
        "stepSeconds": {"min": seconds[0], "median": median},
        "tokensPerS": {"best": tokens / seconds[0], "median": tokens / median},
    }


def self_check():
    """The parallel scan against the recurrence run step by step, and its backward against finite
    differences (float64), at lengths that do and do not halve evenly."""
    torch.manual_seed(0)
    worst, gradients = 0.0, True
    for length in [1, 2, 5, 8, 13]:
        a = torch.rand(2, length, 3, 4, dtype=torch.float64, requires_grad=True)
        b = torch.randn(2, length, 3, 4, dtype=torch.float64, requires_grad=True)
        h, steps = torch.zeros(2, 3, 4, dtype=torch.float64), []
        for t in range(length):
            h = a[:, t] * h + b[:, t]
            steps.append(h)
        worst = max(worst, (scan_pairs(a, b) - torch.stack(steps, 1)).abs().max().item())
        gradients = gradients and torch.autograd.gradcheck(ParallelScan.apply, (a, b))
    print(json.dumps({"scanMaxError": worst, "gradcheck": gradients}))


def main():
    if sys.argv[1:] == ["--check"]:
        return self_check()
    job = json.loads(sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read())
    params = sum(p.numel() for p in MambaLM(job).parameters())
    expected = job.get("expectParams")
    if expected is not None and expected != params:
        print(f"torch_mamba: the peer has {params} parameters but mamba-ts's model has {expected}", file=sys.stderr)
        sys.exit(3)
    runs = [time_training(job, t) for t in job["threads"]]
    print(json.dumps({"torch": torch.__version__, "params": params, "expectParams": expected, "runs": runs}))


if __name__ == "__main__":
    main()
