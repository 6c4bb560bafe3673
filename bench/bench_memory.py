"""`cnncalc memory --training` against PyTorch over every zoo model that mirrors a torchvision model and every
torchvision classifier through `from_torch`: saved activations (fp32 and autocast bf16, batch 2) against the bytes
`saved_tensors_hooks` sees, on FakeTensors on the CPU (tests/memory/torch_memory.py).

    nice -n 10 .venv/bin/python bench/bench_memory.py            # everything: about 15-25 minutes on 2 cores
    nice -n 10 .venv/bin/python bench/bench_memory.py zoo        # or: torch, export, or zoo model names

zoo: zoo models that mirror a torchvision model (video models too), against that model; export: the other zoo models
(LeNet, Caffe AlexNet, MobileNet v1, VGG...) against `Model.to_torch()`, cnncalc's own PyTorch export, which checks
the rules on those ops though not the zoo's choice of in-place activations; torch: every torchvision classifier
through `from_torch`, against itself.

Prints one row a model (ratio cnncalc / PyTorch, fp32 and bf16) and the worst ratios; rows go to
bench/results/memory_saved_<selection>.csv. Each model runs in its own process (a crash or a huge model loses one row).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "memory_saved.csv"  # memory_saved_<selection>.csv

ONE = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {tests!r})
import torch, torchvision
import cnncalc
from cnncalc.teach.memory import estimate
from torch_memory import saved_bytes
kind, name = {kind!r}, {name!r}
options = {{"inception_v3": {{"aux_logits": True, "init_weights": False}}, "googlenet": {{"aux_logits": False,
    "init_weights": False}}, "vit_h_14": {{"image_size": 518}}}}.get(name, {{}})
make = lambda: (getattr(torchvision.models, name, None) or getattr(torchvision.models.video, name))(**options)
if kind in ("zoo", "export"):
    model = cnncalc.load(name)
    x = model.layers[0].output
    shape = (x.c, *x.sizes)
    if kind == "export":  # no torchvision original: cnncalc's own PyTorch export of the same network
        make = model.to_torch
else:
    side = 299 if name == "inception_v3" else 518 if name == "vit_h_14" else 224
    shape = (3, side, side)
    if name == "vit_h_14":
        make = lambda: torchvision.models.vit_h_14(image_size=518)
    with torch.device("meta"):
        try:
            module = make()
        except Exception:
            module = None
    if module is None:
        module = make()
    model = cnncalc.from_torch(module, shape)
out = {{}}
for amp, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
    ours = estimate(model, batch=2, training=True, amp=None if dtype is None else "bf16").activations.value
    theirs = saved_bytes(make, shape, amp=dtype)
    out[amp] = (ours, theirs)
print(json.dumps(out))
"""


def zoo_names() -> list[str]:
    sys.path.insert(0, str(ROOT / "src"))
    from cnncalc.zoo import ZOO, names

    out = []
    names()  # imports every zoo module
    for name, entry in ZOO.items():
        match = re.search(r"torchvision\.models\.(?:video\.)?(\w+)", entry.source)
        if match and match.group(1) == name:
            out.append(name)
    return out


def torch_names() -> list[str]:
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


def run(kind: str, name: str) -> dict[str, tuple[int, int]] | str:
    code = ONE.format(tests=str(ROOT / "tests" / "memory"), kind=kind, name=name)
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired:
        return "timeout"
    if done.returncode:
        return (done.stderr.strip().splitlines() or ["crash"])[-1][:160]
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    args = sys.argv[1:]
    jobs: list[tuple[str, str]] = []
    if not args or "zoo" in args:
        jobs += [("zoo", n) for n in zoo_names()]
    if not args or "export" in args:
        mirrored = set(zoo_names())
        from cnncalc.zoo import names

        jobs += [("export", n) for n in names() if n not in mirrored]
    if not args or "torch" in args:
        jobs += [("torch", n) for n in torch_names()]
    named = [n for n in args if n not in ("zoo", "torch", "export")]
    if named:
        mirrored = set(zoo_names())
        jobs += [("zoo" if n in mirrored else "export", n) for n in named]
    out = OUT.with_name(f"memory_saved_{'_'.join(args) if args else 'all'}.csv")
    out.parent.mkdir(exist_ok=True)
    rows = []
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["kind", "model", "fp32_ours", "fp32_torch", "bf16_ours", "bf16_torch", "error"])
        for kind, name in jobs:
            result = run(kind, name)
            if isinstance(result, str):
                writer.writerow([kind, name, "", "", "", "", result])
                print(f"{kind:5s} {name:24s} error: {result}", flush=True)
                continue
            (a, b), (c, d) = result["fp32"], result["bf16"]
            writer.writerow([kind, name, a, b, c, d, ""])
            rows.append((kind, name, a / b, c / d))
            print(f"{kind:5s} {name:24s} fp32 {a / b:.4f}  bf16 {c / d:.4f}", flush=True)
            f.flush()
    for label, index in (("fp32", 2), ("bf16", 3)):
        worst = sorted(rows, key=lambda r: abs(r[index] - 1), reverse=True)[:5]
        within = sum(abs(r[index] - 1) <= 0.03 for r in rows)
        print(f"{label}: {within}/{len(rows)} within 3%; worst: " + ", ".join(f"{r[1]} {r[index]:.3f}" for r in worst))


if __name__ == "__main__":
    main()
