"""transformers' side of test/io/transformers-roundtrip.test.ts: reads a JSON list of steps on stdin,
runs them with MambaForCausalLM and prints a JSON list of their results as the last line of stdout.

  {"op": "logits", "model": DIR, "ids": [...]}                   -> logits [len(ids)][vocab] of one sequence
  {"op": "greedy", "model": DIR, "ids": [...], "new": N}         -> N greedily generated ids after ids
  {"op": "save", "model": DIR | "config": {...}, "noise": s, "seed": n, "out": DIR}
      loads DIR (or builds a fresh model from MambaConfig(**config)), adds N(0, s^2) noise to every
      parameter so that no tensor keeps a value the loader could guess, and save_pretrained's it to out.
"""

import json
import sys

import torch
from transformers import MambaConfig, MambaForCausalLM


def load(folder):
    return MambaForCausalLM.from_pretrained(folder).eval()


def run(step):
    if step["op"] == "logits":
        with torch.no_grad():
            return load(step["model"])(torch.tensor([step["ids"]])).logits[0].tolist()
    if step["op"] == "greedy":
        prompt = torch.tensor([step["ids"]])
        # min_new_tokens: exactly N ids, as mamba-ts generates them, even past the config's eos_token_id.
        model = load(step["model"])
        out = model.generate(prompt, max_new_tokens=step["new"], min_new_tokens=step["new"], do_sample=False)
        return out[0, prompt.shape[1] :].tolist()
    if step["op"] == "save":
        torch.manual_seed(step["seed"])
        model = load(step["model"]) if "model" in step else MambaForCausalLM(MambaConfig(**step["config"]))
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * step["noise"])
        model.save_pretrained(step["out"])
        return None
    raise ValueError(f"unknown op {step['op']!r}")


print(json.dumps([run(step) for step in json.load(sys.stdin)]))
