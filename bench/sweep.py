"""Sweep cnncalc's PyTorch importer over every timm and torchvision model, against PyTorch's own counts.

    .venv/bin/python bench/sweep.py oracle --set torchvision          # the reference figures, cached
    .venv/bin/python bench/sweep.py oracle --set timm --budget 60      # start no new chunk after 60 minutes
    .venv/bin/python bench/sweep.py summary --set timm                 # what the oracle cache holds, errors grouped
    .venv/bin/python bench/sweep.py compare --set torchvision          # cnncalc.api.from_torch against the oracle
    .venv/bin/python bench/sweep.py compare --set timm --limit 50 --pattern 'resnet*'
    .venv/bin/python bench/sweep.py compare --set timm --models resnet18,vit_tiny_patch16_224 --repeat 3

`--set` is timm, torchvision or all (the default of oracle and summary; compare defaults to torchvision). Run it with
`nice -n 10` on a shared machine. Every model is built with `weights=None` / `pretrained=False` (detection and
segmentation models also `weights_backbone=None`) on the meta device (no memory, no download), in eval mode.

oracle: `params` is the numel of the unique parameters, `buffers` that of the buffers without `num_batches_tracked`,
`macs` is `FlopCounterMode` total flops // 2 for one forward (under no_grad, parameters not requiring grad) on zeros of
batch 1, and `oracle_seconds` the wall time of that forward. Inputs: timm, the model's `pretrained_cfg['input_size']`;
torchvision classifiers 224x224 (inception_v3 299; vit_h_14 is built with image_size=518, as its default weights are),
video models 16 frames at their default weights' crop (112 or 224), segmentation 520x520, optical flow two images of
368x496 (RAFT wants sides divisible by 8), and the detection models' backbones (`name.backbone`) at the size their
transform gives a square image (800, or 320/300 for the small ones). The timm set is the models with at most 300M
parameters: bigger ones get a row with error `skipped: ...`. Results go to bench/results/oracle_<set>.csv (columns
model,params,buffers,macs,input,oracle_seconds,error,build) row by row, so an interrupted or later run computes only
the missing rows (`--retry-errors` redoes the failed ones). The error column starts with the stage that failed: build,
forward, timeout, crash or skipped. `build` is `meta`, or `meta-init (meta: <error>)` for a model whose `__init__`
fails on the meta device (torchvision's RegNets read tensor values): it is then built on the CPU with each parameter
and buffer moved to meta as it is registered, as accelerate's `init_empty_weights` does.

compare: for the selected models (computing any missing oracle rows first) builds each again on meta, times
`cnncalc.api.from_torch(module, input_shape)` with the input shape without its batch ((3, 224, 224); a list of two
for optical flow), catches whatever it raises or warns, writes its rows into bench/results/compare_<set>.csv
(replacing those models' rows, keeping the other models' rows of earlier runs), and prints, for the selection, how
many models have exact params and MACs within 0.1%, the median and max of cnncalc_seconds / oracle_seconds, the
errors grouped and the worst misses. Every run builds the rows afresh: the importer changes, the oracle does not.
The speed is measured in the same worker, on the same model, right after the import: `oracle_seconds` of a compare
row is a `FlopCounterMode` forward timed there (not the cached one), and with `--repeat N` both are timed N times and
the best of each kept; the summary prints the distribution of cnncalc_seconds / oracle_seconds (min, p10, median,
p90, max, how many are over 0.5) and the slowest models.

Models run in subprocesses of `--chunk` models (20) each, so memory stays bounded and a crash loses one model; a
model is stopped after `--timeout` seconds (60) and recorded as a timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fnmatch
import json
import math
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

RESULTS = Path(__file__).resolve().parent / "results"
SETS = ("timm", "torchvision")
ORACLE_COLUMNS = ["model", "params", "buffers", "macs", "input", "oracle_seconds", "error", "build"]
COMPARE_COLUMNS = [
    "model",
    "input",
    "oracle_params",
    "cnncalc_params",
    "params_exact",
    "oracle_macs",
    "cnncalc_macs",
    "macs_ratio",
    "macs_close",
    "oracle_seconds",
    "cnncalc_seconds",
    "time_ratio",
    "warnings",
    "first_warning",
    "error",
]
MAX_TIMM_PARAMS = 300_000_000
MACS_TOLERANCE = 0.001  # relative: "within 0.1%"
GRACE = 30.0  # seconds the parent waits past --timeout before it kills a worker
STARTUP = 180.0  # seconds a worker may take to import torch, timm and torchvision


# ----------------------------------------------------------------------------- the models


def model_names(which: str) -> list[str]:
    """Every model of a set, sorted; torchvision's detection models appear as `name.backbone`."""
    if which == "timm":
        import timm

        return sorted(timm.list_models())
    return sorted(_torchvision_families())


def _torchvision_families() -> dict[str, str]:
    import torchvision.models as tvm

    modules = {
        "classification": tvm,
        "video": tvm.video,
        "segmentation": tvm.segmentation,
        "optical_flow": tvm.optical_flow,
        "detection": tvm.detection,
    }
    families = {}
    for family, module in modules.items():
        for name in tvm.list_models(module=module):
            families[f"{name}.backbone" if family == "detection" else name] = family
    return families


def build(which: str, name: str) -> tuple[Any, list[tuple[int, ...]], str]:
    """The model on the meta device in eval mode, its input shapes with the batch of 1, and how it was built."""

    if which == "timm":
        import timm

        model, how = construct(lambda: timm.create_model(name, pretrained=False))
        size = (model.pretrained_cfg or {}).get("input_size")
        if not size:
            size = timm.data.resolve_data_config({}, model=model)["input_size"]
        return model.eval(), [(1, *size)], how

    from torchvision.models import get_model, get_model_weights

    family = _torchvision_families()[name]
    arch = name.removesuffix(".backbone")
    kwargs: dict[str, Any] = {"image_size": 518} if arch == "vit_h_14" else {}
    if family in ("detection", "segmentation"):
        kwargs["weights_backbone"] = None  # its default is a pretrained backbone, downloaded
    model, how = construct(lambda: get_model(arch, weights=None, **kwargs))
    if family == "classification":
        side = {"inception_v3": 299, "vit_h_14": 518}.get(arch, 224)
        inputs = [(1, 3, side, side)]
    elif family == "video":
        h, w = get_model_weights(arch).DEFAULT.transforms.keywords["crop_size"]
        inputs = [(1, 3, 16, h, w)]
    elif family == "segmentation":
        inputs = [(1, 3, 520, 520)]
    elif family == "optical_flow":
        inputs = [(1, 3, 368, 496), (1, 3, 368, 496)]
    else:
        transform = model.transform
        h, w = transform.fixed_size or (transform.min_size[-1], transform.min_size[-1])
        model = model.backbone
        inputs = [(1, 3, h, w)]
    return model.eval(), inputs, how


def construct(make: Callable[[], Any]) -> tuple[Any, str]:
    """`make()` on the meta device, and how it was built: `meta`, or where that fails (an `__init__` that reads a
    tensor's values, such as RegNet's `torch.arange(...).tolist()`), `meta-init (meta: <error>)`: built on the CPU
    with each parameter and buffer moved to meta as it is registered, before the layer initialises it."""
    import torch

    try:
        with torch.device("meta"):
            return make(), "meta"
    except Exception as exc:
        why = first_line(exc)
    try:
        with _meta_init():
            model = make()
    except Exception:
        raise RuntimeError(why) from None  # the meta error is the one to report
    return model.to("meta"), f"meta-init (meta: {why})"


@contextlib.contextmanager
def _meta_init() -> Iterator[None]:
    """Like accelerate's `init_empty_weights`: tensors made in `__init__` live on the CPU, parameters and buffers on
    meta. A parameter registered twice (tied weights) is moved once, so it stays one object."""
    import torch

    module = torch.nn.Module
    register_parameter, register_buffer = module.register_parameter, module.register_buffer

    def on_parameter(self: Any, name: str, param: Any) -> None:
        register_parameter(self, name, param)
        if param is not None and param.device.type != "meta":
            kwargs = {**param.__dict__, "requires_grad": param.requires_grad}
            self._parameters[name] = type(param)(param.to("meta"), **kwargs)

    def on_buffer(self: Any, name: str, tensor: Any, persistent: bool = True) -> None:
        register_buffer(self, name, tensor, persistent)
        if tensor is not None:
            self._buffers[name] = tensor.to("meta")

    module.register_parameter, module.register_buffer = on_parameter, on_buffer  # type: ignore[method-assign]
    try:
        yield
    finally:
        module.register_parameter, module.register_buffer = register_parameter, register_buffer  # type: ignore[method-assign]


def count_tensors(model: Any) -> tuple[int, int]:
    """(params, buffers): unique by identity; buffers without BatchNorm's `num_batches_tracked`."""
    params = {id(p): p.numel() for _, p in model.named_parameters(remove_duplicate=False)}
    buffers = {
        id(b): b.numel()
        for n, b in model.named_buffers(remove_duplicate=False)
        if not n.endswith("num_batches_tracked")
    }
    return sum(params.values()), sum(buffers.values())


def input_text(inputs: Iterable[tuple[int, ...]]) -> str:
    return "+".join("x".join(map(str, s)) for s in inputs)


def parse_input(text: str) -> list[tuple[int, ...]]:
    return [tuple(int(d) for d in part.split("x")) for part in text.split("+")]


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text[:300]


# ----------------------------------------------------------------------------- the worker (one per chunk)


class _Timeout(BaseException):  # not an Exception: a model's own `except Exception` must not swallow it
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def _oracle_one(which: str, name: str) -> dict[str, Any]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    row: dict[str, Any] = {"model": name}
    stage = "build"
    try:
        model, inputs, row["build"] = build(which, name)
        row["params"], row["buffers"] = count_tensors(model)
        row["input"] = input_text(inputs)
        if which == "timm" and row["params"] > MAX_TIMM_PARAMS:
            row["error"] = f"skipped: {row['params']:,} params > 300M"
            return row
        stage = "forward"
        xs = [torch.zeros(s, device="meta") for s in inputs]
        # FlopCounterMode's module tracker fails under no_grad on a module given a parameter as input (CaiT's
        # class token): "Expected gradient function to be set". Nothing that does not require grad is tracked so.
        model.requires_grad_(False)
        start = time.perf_counter()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*xs)
        row["oracle_seconds"] = round(time.perf_counter() - start, 4)
        row["macs"] = counter.get_total_flops() // 2
    except _Timeout:
        row["error"] = f"timeout: {stage} over the time limit"
    except Exception as exc:
        row["error"] = f"{stage}: {first_line(exc)}"
    return row


def _time_oracle(model: Any, inputs: list[tuple[int, ...]]) -> float:
    """Seconds of one `FlopCounterMode` forward, as `_oracle_one` runs it; the parameters' flags are put back."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.requires_grad_(False)
    xs = [torch.zeros(s, device="meta") for s in inputs]
    start = time.perf_counter()
    with torch.no_grad(), FlopCounterMode(display=False):
        model(*xs)
    seconds = time.perf_counter() - start
    for p, flag in flags:
        p.requires_grad_(flag)
    return seconds


def _compare_one(which: str, name: str, inputs: list[tuple[int, ...]], repeat: int = 1) -> dict[str, Any]:
    row: dict[str, Any] = {"model": name}
    stage = "build"
    try:
        model, _, _ = build(which, name)
        stage = "import"
        from cnncalc.api import from_torch

        shapes: Any = [s[1:] for s in inputs] if len(inputs) > 1 else inputs[0][1:]
        ours, theirs = [], []
        for _ in range(repeat):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                start = time.perf_counter()
                result = from_torch(model, shapes)
                ours.append(time.perf_counter() - start)
            stage = "oracle timing"
            theirs.append(_time_oracle(model, inputs))
            stage = "import"
        row["cnncalc_seconds"] = round(min(ours), 4)
        row["oracle_seconds"] = round(min(theirs), 4)
        row["cnncalc_params"] = int(result.totals.params)
        row["cnncalc_macs"] = int(result.totals.macs)
        row["warnings"] = len(caught)
        if caught:
            lines = [x.strip() for x in str(caught[0].message).splitlines() if x.strip()]
            row["first_warning"] = f"{caught[0].category.__name__}: {lines[0] if lines else ''}"[:300]
    except _Timeout:
        row["error"] = f"timeout: {stage} over the time limit"
    except BaseException as exc:  # the importer may raise anything, SystemExit included
        row["error"] = first_line(exc) if stage == "import" else f"{stage}: {first_line(exc)}"
    return row


def _warm_up(mode: str) -> None:
    """The first forward of a process pays for lazy imports and dispatch caches: pay it before timing."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.Flatten(),
            torch.nn.Linear(8, 2),
        ).eval()
    with torch.no_grad(), FlopCounterMode(display=False):
        net(torch.zeros(1, 3, 3, 3, device="meta"))
    if mode == "compare":
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from cnncalc.api import from_torch

            from_torch(net, (3, 3, 3))


def worker(mode: str, which: str, timeout: float, items: list[str], repeat: int = 1) -> None:
    """Runs in the subprocess: `START name` and then `RESULT {json}` on the protocol stream for each model."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever a model prints goes to the worker's log, not into the protocol
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    _warm_up(mode)
    signal.signal(signal.SIGALRM, _on_alarm)
    for item in items:
        name, _, shapes = item.partition("=")
        print(f"START {name}", file=proto)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            if mode == "oracle":
                row = _oracle_one(which, name)
            else:
                row = _compare_one(which, name, parse_input(shapes), repeat)
        except _Timeout:
            row = {"model": name, "error": "timeout: over the time limit"}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        print("RESULT " + json.dumps(row), file=proto)


# ----------------------------------------------------------------------------- running chunks


def _run_chunk(
    mode: str,
    which: str,
    items: list[str],
    timeout: float,
    on_row: Callable[[dict[str, Any]], None],
    repeat: int = 1,
) -> set[str]:
    """One worker over `items`; returns the models it settled (a result, a timeout or a crash)."""
    handled: set[str] = set()
    lines: queue.Queue[str | None] = queue.Queue()
    with tempfile.TemporaryFile("w+") as log:
        cmd = [sys.executable, str(Path(__file__).resolve()), "_worker", mode, which, str(timeout), str(repeat)]
        cmd += items
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True, env=env)

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        try:
            _follow(proc, lines, items, timeout, on_row, handled, log)
        finally:
            if proc.poll() is None:  # the parent was interrupted: take the worker down with it
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return handled


def _follow(
    proc: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    items: list[str],
    timeout: float,
    on_row: Callable[[dict[str, Any]], None],
    handled: set[str],
    log: IO[str],
) -> None:
    """Reads a worker's protocol until it ends, killing it when a model overruns its time."""
    current: str | None = None
    deadline = time.monotonic() + STARTUP
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            name = current or items[0].partition("=")[0]
            on_row({"model": name, "error": f"timeout: killed after {timeout + GRACE:.0f} s"})
            handled.add(name)
            break
        if line is None:
            code = proc.wait()
            if current is not None or not handled:
                log.seek(0)
                tail = [x.strip() for x in log.read().splitlines() if x.strip()]
                why = tail[-1][:200] if tail else "no output"
                # a worker that died before its first model (an import failed) fails its whole chunk
                names = [current] if current is not None else [i.partition("=")[0] for i in items]
                for name in names:
                    on_row({"model": name, "error": f"crash: worker exit code {code}: {why}"})
                    handled.add(name)
            break
        if line.startswith("START "):
            current = line[6:]
            deadline = time.monotonic() + timeout + GRACE
        elif line.startswith("RESULT "):
            row = json.loads(line[7:])
            on_row(row)
            handled.add(row["model"])
            current = None
            deadline = time.monotonic() + timeout + GRACE


def run_all(
    mode: str,
    which: str,
    items: list[str],
    timeout: float,
    chunk: int,
    on_row: Callable[[dict[str, Any]], None],
    budget: float | None = None,
    repeat: int = 1,
) -> bool:
    """Every item in chunks; False if the time budget (seconds) ran out first."""
    start = time.monotonic()
    pending = list(items)
    while pending:
        if budget is not None and time.monotonic() - start > budget:
            print(f"time budget spent: {len(pending)} models left for a later run", flush=True)
            return False
        handled = _run_chunk(mode, which, pending[:chunk], timeout, on_row, repeat)
        pending = [i for i in pending if i.partition("=")[0] not in handled]
    return True


# ----------------------------------------------------------------------------- CSV files


def oracle_path(which: str) -> Path:
    return RESULTS / f"oracle_{which}.csv"


def load_oracle(which: str) -> dict[str, dict[str, str]]:
    """The cached rows by model; a model written twice keeps its last row."""
    path = oracle_path(which)
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        return {row["model"]: row for row in csv.DictReader(f)}


def write_rows(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        out = csv.DictWriter(f, columns, extrasaction="ignore")
        out.writeheader()
        out.writerows(rows)
    tmp.replace(path)


class Appender:
    """Appends rows to a CSV file as they come, flushed, so an interrupted run keeps what it did."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists() or path.stat().st_size == 0
        self.file = path.open("w" if new else "a", newline="")
        self.out = csv.DictWriter(self.file, columns, extrasaction="ignore")
        if new:
            self.out.writeheader()

    def __call__(self, row: dict[str, Any]) -> None:
        self.out.writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


# ----------------------------------------------------------------------------- commands


def select(names: list[str], pattern: str | None, limit: int | None, models: str | None = None) -> list[str]:
    if models:
        wanted = set(models.split(","))
        names = [n for n in names if n in wanted]
    if pattern:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    return names[:limit] if limit is not None else names


def _retryable(row: dict[str, str]) -> bool:
    return bool(row.get("error")) and not row["error"].startswith("skipped")


def run_oracle(
    which: str,
    names: list[str],
    *,
    timeout: float,
    chunk: int,
    retry_errors: bool = False,
    budget: float | None = None,
) -> dict[str, dict[str, str]]:
    """Computes the oracle rows missing from the cache (and the failed ones with `retry_errors`); returns all rows."""
    cached = load_oracle(which)
    todo = [n for n in names if n not in cached or (retry_errors and _retryable(cached[n]))]
    print(f"oracle {which}: {len(names)} models, {len(names) - len(todo)} cached, {len(todo)} to run", flush=True)
    if todo:
        append = Appender(oracle_path(which), ORACLE_COLUMNS)
        done = 0
        started = time.monotonic()

        def on_row(row: dict[str, Any]) -> None:
            nonlocal done
            done += 1
            append(row)
            what = row.get("error") or f"{row.get('macs', 0):,} MACs in {row.get('oracle_seconds', 0):.2f} s"
            print(f"[{done}/{len(todo)} {time.monotonic() - started:6.0f} s] {row['model']}: {what}", flush=True)

        try:
            run_all("oracle", which, todo, timeout, chunk, on_row, budget)
        finally:
            append.close()
        rows = load_oracle(which)
        write_rows(oracle_path(which), ORACLE_COLUMNS, (rows[k] for k in sorted(rows)))  # drop superseded rows
    return load_oracle(which)


def error_group(error: str) -> str:
    """An error with its numbers and quoted names blanked, so that errors of one kind group together."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", error)
    return re.sub(r"\d+", "N", text)[:160]


def print_groups(errors: list[str], top: int = 20, indent: str = "  ") -> None:
    groups = Counter(error_group(e) for e in errors)
    for text, n in groups.most_common(top):
        print(f"{indent}{n:5d}  {text}")
    if len(groups) > top:
        print(f"{indent}  ... and {len(groups) - top} more kinds ({sum(n for _, n in groups.most_common()[top:])})")


def summarize_oracle(which: str, names: list[str] | None = None) -> None:
    rows = load_oracle(which)
    names = names if names is not None else model_names(which)
    present = [rows[n] for n in names if n in rows]
    ok = [r for r in present if not r["error"]]
    failed = [r for r in present if r["error"] and not r["error"].startswith("skipped")]
    skipped = [r for r in present if r["error"].startswith("skipped")]
    seconds = sum(float(r["oracle_seconds"]) for r in ok if r["oracle_seconds"])
    print(f"\noracle {which} ({oracle_path(which)}):")
    print(f"  {len(names)} models in the set, {len(present)} in the cache, {len(names) - len(present)} not run yet")
    print(f"  {len(ok)} measured, {len(failed)} failed, {len(skipped)} skipped (over 300M params)")
    print(f"  oracle time (sum of the FlopCounterMode forwards): {seconds:.1f} s")
    fallback = [r for r in present if (r.get("build") or "").startswith("meta-init")]
    if fallback:
        worked = sum(1 for r in fallback if not r["error"])
        print(f"  {len(fallback)} failed to build on meta but built with meta-init ({worked} of them measured):")
        print_groups([r["build"].removeprefix("meta-init (meta: ").removesuffix(")") for r in fallback])
    stages = Counter(r["error"].split(":", 1)[0] for r in failed)
    if failed:
        print("  failures by stage: " + ", ".join(f"{k} {v}" for k, v in stages.most_common()))
        print_groups([r["error"] for r in failed])


def _ratio(a: float, b: float) -> float:
    return a / b if b else (1.0 if a == b else math.inf)


def compare_row(oracle: dict[str, str], row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": oracle["model"],
        "input": oracle["input"],
        "oracle_params": int(oracle["params"]),
        "oracle_macs": int(oracle["macs"]),
        "oracle_seconds": float(oracle["oracle_seconds"]),
        **row,
    }
    if "cnncalc_params" in row and not row.get("error"):
        out["params_exact"] = row["cnncalc_params"] == out["oracle_params"]
        out["macs_ratio"] = round(_ratio(row["cnncalc_macs"], out["oracle_macs"]), 6)
        out["macs_close"] = abs(row["cnncalc_macs"] - out["oracle_macs"]) <= MACS_TOLERANCE * out["oracle_macs"]
    else:
        out["params_exact"] = out["macs_close"] = False
    if row.get("cnncalc_seconds") is not None:
        out["time_ratio"] = round(_ratio(row["cnncalc_seconds"], out["oracle_seconds"]), 3)
    return out


def _miss(row: dict[str, Any]) -> float:
    """How far off a row is: the larger relative error of params and MACs."""
    p = abs(_ratio(row["cnncalc_params"], row["oracle_params"]) - 1)
    m = abs(row["macs_ratio"] - 1)
    return max(p, m)


def summarize_compare(which: str, rows: list[dict[str, Any]], left_out: Counter[str], worst: int) -> None:
    n = len(rows)
    exact = sum(bool(r["params_exact"]) for r in rows)
    close = sum(bool(r["macs_close"]) for r in rows)
    both = sum(bool(r["params_exact"]) and bool(r["macs_close"]) for r in rows)
    errors = [r for r in rows if r.get("error")]
    warned = sum(1 for r in rows if r.get("warnings"))
    pct = 100 * close / n if n else 0.0
    out = ", ".join(f"{k} {v}" for k, v in sorted(left_out.items())) or "none"
    print(f"\ncompare {which}: {n} models with oracle figures (left out: {out})")
    print(f"  params exact:       {exact}/{n}")
    print(f"  MACs within 0.1%:   {close}/{n} ({pct:.1f}%)")
    print(f"  both:               {both}/{n}")
    print(f"  importer raised:    {len(errors)}/{n}; warned: {warned}/{n}")
    print_ratios(rows)
    if errors:
        print("  errors, grouped:")
        print_groups([r["error"] for r in errors], top=15, indent="    ")
    misses = sorted(
        (r for r in rows if not r.get("error") and not (r["params_exact"] and r["macs_close"])), key=_miss, reverse=True
    )
    if misses:
        print(f"  {min(worst, len(misses))} worst misses of {len(misses)} (largest relative error first):")
        print(f"    {'model':<44} {'params oracle':>14} {'params cnncalc':>14} {'MACs oracle':>16} {'MACs c/o':>10}")
        for r in misses[:worst]:
            print(
                f"    {r['model']:<44} {r['oracle_params']:>14,} {r['cnncalc_params']:>14,} "
                f"{r['oracle_macs']:>16,} {r['macs_ratio']:>10.4f}"
            )


def print_ratios(rows: list[dict[str, Any]], target: float = 0.5, slowest: int = 10) -> None:
    """The distribution of cnncalc_seconds / oracle_seconds, how many models are over `target`, the slowest."""
    ratios = sorted(((r["time_ratio"], r["model"]) for r in rows if r.get("time_ratio") is not None), reverse=True)
    if not ratios:
        return
    values = sorted(x for x, _ in ratios)
    cuts = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else values * 9
    over = sum(1 for x in values if x > target)
    slower = sum(1 for x in values if x >= 1)
    timed = [r for r in rows if r.get("time_ratio") is not None]
    ours = sum(float(r["cnncalc_seconds"]) for r in timed)
    theirs = sum(float(r["oracle_seconds"]) for r in timed)
    print(
        f"  time cnncalc/oracle over {len(values)} models: min {values[0]:.2f}, p10 {cuts[0]:.2f}, "
        f"median {statistics.median(values):.2f}, p90 {cuts[-1]:.2f}, max {values[-1]:.2f}; "
        f"{over} over {target} ({100 * over / len(values):.1f}%), {slower} not faster than the oracle"
    )
    print(f"  sum of times: cnncalc {ours:.1f} s, oracle {theirs:.1f} s, ratio {_ratio(ours, theirs):.2f}")
    print("  slowest: " + ", ".join(f"{m} {x:.2f}" for x, m in ratios[:slowest]))


def run_compare(which: str, names: list[str], *, timeout: float, chunk: int, worst: int, repeat: int = 1) -> None:
    oracle = run_oracle(which, names, timeout=timeout, chunk=chunk)
    usable = [n for n in names if n in oracle and not oracle[n]["error"]]
    left_out = Counter(
        "not run" if n not in oracle else "over 300M" if oracle[n]["error"].startswith("skipped") else "oracle failed"
        for n in names
        if n not in usable
    )
    path = RESULTS / f"compare_{which}.csv"
    earlier: dict[str, dict[str, str]] = {}
    if path.exists():
        selected = set(names)
        with path.open(newline="") as f:
            earlier = {r["model"]: r for r in csv.DictReader(f) if r["model"] not in selected}
    append = Appender(path, COMPARE_COLUMNS)  # rows as they come; the file is put in order at the end
    rows: list[dict[str, Any]] = []
    started = time.monotonic()

    def on_row(row: dict[str, Any]) -> None:
        out = compare_row(oracle[row["model"]], row)
        rows.append(out)
        append(out)
        what = out.get("error") or (
            f"params {'exact' if out['params_exact'] else 'DIFFER'}, MACs x{out['macs_ratio']:.4f}, "
            f"time x{out.get('time_ratio', 0):.2f}"
        )
        print(f"[{len(rows)}/{len(usable)} {time.monotonic() - started:6.0f} s] {row['model']}: {what}", flush=True)

    print(f"compare {which}: {len(usable)} models", flush=True)
    try:
        items = [f"{n}={oracle[n]['input']}" for n in usable]
        run_all("compare", which, items, timeout, chunk, on_row, repeat=repeat)
    finally:
        append.close()
    rows.sort(key=lambda r: r["model"])
    write_rows(path, COMPARE_COLUMNS, sorted([*earlier.values(), *rows], key=lambda r: r["model"]))
    summarize_compare(which, rows, left_out, worst)
    kept = f" (and {len(earlier)} rows of other models, from an earlier run)" if earlier else ""
    print(f"\nwritten: {path}{kept}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_worker"]:
        mode, which, timeout, repeat, *items = argv[1:]
        worker(mode, which, float(timeout), items, int(repeat))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("oracle", "compare", "summary"):
        p = sub.add_parser(command)
        default = "all" if command != "compare" else "torchvision"
        p.add_argument("--set", dest="which", choices=[*SETS, "all"], default=default)
        p.add_argument("--limit", type=int, help="only the first N models (in name order) that match")
        p.add_argument("--pattern", help="only models whose name matches this glob, e.g. 'resnet*'")
        p.add_argument("--models", help="only these models, by name, comma-separated")
        if command != "summary":
            p.add_argument("--chunk", type=int, default=20, help="models per subprocess (20)")
            p.add_argument("--timeout", type=float, default=60.0, help="seconds per model (60)")
        if command == "oracle":
            p.add_argument("--retry-errors", action="store_true", help="run the failed models again")
            p.add_argument("--budget", type=float, help="minutes after which no new chunk starts")
        if command == "compare":
            p.add_argument("--worst", type=int, default=30, help="how many of the worst misses to list (30)")
            p.add_argument("--repeat", type=int, default=1, help="time each side this many times, keep the best (1)")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    sets = SETS if args.which == "all" else (args.which,)
    start = time.monotonic()
    for which in sets:
        names = select(model_names(which), args.pattern, args.limit, args.models)
        if args.command == "oracle":
            budget = None if args.budget is None else max(0.0, args.budget * 60 - (time.monotonic() - start))
            run_oracle(
                which, names, timeout=args.timeout, chunk=args.chunk, retry_errors=args.retry_errors, budget=budget
            )
            summarize_oracle(which, names)
        elif args.command == "summary":
            summarize_oracle(which, names)
        else:
            run_compare(which, names, timeout=args.timeout, chunk=args.chunk, worst=args.worst, repeat=args.repeat)
    print(f"\nwall time {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
