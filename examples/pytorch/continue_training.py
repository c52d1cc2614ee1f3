"""Continues training a mamba-ts model in PyTorch, on one device or many, and saves it where mamba-ts loads it.

    pip install torch transformers accelerate
    python examples/pytorch/continue_training.py --model runs/mb --data corpus.txt --out runs/mb-torch
    accelerate launch examples/pytorch/continue_training.py --model runs/mb --data corpus.txt --out runs/mb-torch
    npx mamba-ts generate --model runs/mb-torch --prompt "The "

The loop is written against accelerate's Accelerator, so `accelerate launch` runs it data-parallel
(DDP) or sharded (FSDP) as its config says; without accelerate it runs as a plain loop on one device.
See README.md beside this file.
"""

import argparse
import math
import pathlib
import sys

import torch
from transformers import AutoTokenizer, MambaForCausalLM

try:
    from accelerate import Accelerator
except ImportError:
    Accelerator = None


class OneDevice:
    """The part of accelerate's Accelerator this script uses, for one process on one device."""

    is_main_process = True
    num_processes = 1

    def __init__(self):
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def prepare(self, *objects):
        return tuple(o.to(self.device) if isinstance(o, torch.nn.Module) else o for o in objects)

    def backward(self, loss):
        loss.backward()

    def clip_grad_norm_(self, parameters, max_norm):
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)

    def unwrap_model(self, model):
        return model

    def get_state_dict(self, model):
        return model.state_dict()

    def wait_for_everyone(self):
        pass

    def print(self, *args):
        print(*args, flush=True)


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a mamba-ts model folder, or any MambaForCausalLM folder or hub id")
    p.add_argument("--data", required=True, nargs="+", help="text files, or folders whose files are all read")
    p.add_argument("--out", required=True, help="folder for the trained model (save_pretrained: safetensors)")
    p.add_argument("--tokenizer", help="tokenizer folder or hub id (default: the model's; bytes for 256 ids)")
    p.add_argument("--steps", type=positive, default=1000)
    p.add_argument("--batch-size", type=positive, default=8, help="sequences per step on each process")
    p.add_argument("--seq-len", type=positive, default=256, help="ids (tokens or bytes) per sequence")
    p.add_argument("--lr", type=float, default=5e-4, help="peak learning rate")
    p.add_argument("--warmup", type=positive, default=50, help="steps of linear warmup")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--clip", type=float, default=1.0, help="global gradient norm limit")
    p.add_argument("--log-every", type=positive, default=10)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def find_tokenizer(args, vocab_size):
    """None means the ids are the bytes of the text: mamba-ts's byte-level models (MambaByte) have no tokenizer."""
    if args.tokenizer:
        return AutoTokenizer.from_pretrained(args.tokenizer)
    folder = pathlib.Path(args.model)
    # A local folder needs its own tokenizer.json: transformers would otherwise make an empty one from model_type.
    if (folder / "tokenizer.json").exists() or not folder.is_dir():
        return AutoTokenizer.from_pretrained(args.model)
    if vocab_size == 256:
        return None
    sys.exit(f"{args.model}: no tokenizer.json for its vocabulary of {vocab_size}; pass --tokenizer")


def read_ids(paths, tokenizer, vocab_size):
    files = []
    for path in map(pathlib.Path, paths):
        if not path.exists():
            sys.exit(f"{path}: no such file or folder")
        files += sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
    data = b"\n\n".join(f.read_bytes() for f in files)
    if tokenizer is None:
        return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()
    ids = torch.tensor(tokenizer(data.decode("utf-8", errors="replace"))["input_ids"], dtype=torch.long)
    if len(ids) > 0 and ids.max() >= vocab_size:
        sys.exit(f"the tokenizer gives id {ids.max()}, past the model's vocabulary of {vocab_size}: is it the model's?")
    return ids


class RandomWindows(torch.utils.data.Dataset):
    """`count` windows of `length` ids at seeded places: every process draws the same, and the loader shards them."""

    def __init__(self, ids, length, count, seed):
        if len(ids) <= length:
            sys.exit(f"the data has {len(ids)} ids; --seq-len {length} needs more")
        self.ids = ids
        self.length = length
        self.starts = torch.randint(0, len(ids) - length, (count,), generator=torch.Generator().manual_seed(seed))

    def __len__(self):
        return len(self.starts)

    def __getitem__(self, i):
        return self.ids[self.starts[i] : self.starts[i] + self.length]


def optimizer_for(model, args):
    def exempt(name):
        # As mamba-ts trains: no weight decay on A_log, D, norms and biases.
        return name.endswith(("A_log", ".D", "bias")) or "norm" in name

    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in params if not exempt(n)], "weight_decay": args.weight_decay},
        {"params": [p for n, p in params if exempt(n)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95))

    def factor(step):
        # Linear warmup, then cosine decay to a tenth of the peak.
        if step < args.warmup:
            return (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return 0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress)))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def main(argv=None):
    args = parse_args(argv)
    accelerator = Accelerator() if Accelerator is not None else OneDevice()
    torch.manual_seed(args.seed)
    # float32 weights whatever the folder stores; `--mixed_precision bf16` computes in bf16 and keeps them float32.
    model = MambaForCausalLM.from_pretrained(args.model).float()
    tokenizer = find_tokenizer(args, model.config.vocab_size)
    ids = read_ids(args.data, tokenizer, model.config.vocab_size)
    windows = RandomWindows(ids, args.seq_len, args.steps * args.batch_size * accelerator.num_processes, args.seed)
    loader = torch.utils.data.DataLoader(windows, batch_size=args.batch_size, drop_last=True)
    optimizer, schedule = optimizer_for(model, args)
    # The schedule stays unprepared: accelerate would step it once per process, ending it early.
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    runner = "a plain loop (accelerate is not installed)" if Accelerator is None else "accelerate"
    unit = "bytes" if tokenizer is None else "tokens"
    shape = f"{args.batch_size} x {args.seq_len}"
    processes = f"{accelerator.num_processes} process(es)"
    accelerator.print(f"{len(ids):,} {unit}; {args.steps} steps of {shape} on {processes}, {runner}")

    model.train()
    for step, batch in enumerate(loader, start=1):
        batch = batch.to(accelerator.device)
        # transformers shifts the labels: position t predicts id t + 1.
        loss = model(input_ids=batch, labels=batch).loss
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % args.log_every == 0 or step == args.steps:
            accelerator.print(f"step {step} loss {loss.item():.4f} lr {schedule.get_last_lr()[0]:.2e}")

    # Under FSDP get_state_dict gathers the whole model (fsdp_state_dict_type FULL_STATE_DICT); the main process writes.
    accelerator.wait_for_everyone()
    state = accelerator.get_state_dict(model)
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.save_pretrained(args.out, is_main_process=accelerator.is_main_process, state_dict=state)
    if tokenizer is not None and accelerator.is_main_process:
        tokenizer.save_pretrained(args.out)
    accelerator.print(f"saved to {args.out}: npx mamba-ts generate --model {args.out} --prompt ...")


if __name__ == "__main__":
    main()
