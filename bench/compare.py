"""cnncalc beside the FLOP tools users pick instead: time, memory, and whether each figure is what it should be.

    .venv/bin/python bench/compare.py                      # everything (make bench), about 10 minutes on 2 cores
    .venv/bin/python bench/compare.py --quick              # two networks at 224 only, a smoke test
    .venv/bin/python bench/compare.py resnet50 --sizes 224 --markdown out.md --json out.json

For each network (cnncalc zoo models exported with `cnncalc.load(name, input=...).to_torch()`, at 224x224 and
1024x1024, and synthetic chains of 50, 200 and 1000 conv layers) and each tool, in one process, with
torch.set_num_threads(1) and real CPU tensors of batch 1:

- time: the median of several calls (5 if a call takes under 0.5 s, 3 under 5 s, else 1; every tool is warmed
  up once on a small network first). For the tools a call is what a user writes, forward pass included; for
  cnncalc's static path it is `cnncalc.load(name_or_spec, input=...)` and `.to_dict()`, and for its PyTorch path
  `cnncalc.from_torch(module, (C, H, W))` and `.to_dict()`.
- memory: how far the process's peak resident set grew during the first call: Linux's VmHWM, reset just before
  the call by writing 5 to /proc/self/clear_refs (where that is refused, the growth of getrusage's ru_maxrss,
  which only shows new highs of the whole process).
- the params and MACs/FLOPs the tool reports, whether that figure equals cnncalc's column for the tool's
  convention (cnncalc.passes.conventions), and how far it is from PyTorch's own FlopCounterMode, in the tool's
  unit (FlopCounterMode / 2 for a tool that counts MACs).

A tool that would take more than about 60 s on a network at 1024 (judged from its time at 224) is skipped with a
note, and so is everything left once the time budget (--budget, 720 s) is spent: the chains run first, then each
size from the cheapest network up. Denormal numbers are flushed (torch.set_flush_denormal(True)): ptflops and
calflops run the model on uninitialised memory, whose denormals can make a forward pass several times slower.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import io
import json
import logging
import os
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

import cnncalc
from cnncalc.passes.conventions import conventions
from cnncalc.render.text import human_count

ZOO = ["resnet18", "resnet50", "resnet152", "vgg16", "mobilenet_v2", "efficientnet_b0", "densenet121", "convnext_tiny"]
SIZES = [224, 1024]
CHAINS = [50, 200, 1000]
LIMIT_1024 = 60.0  # seconds: a tool estimated slower than this on a network at 1024 is skipped


# ----------------------------------------------------------------------------- networks


@dataclass
class Case:
    label: str  # e.g. resnet50@224
    source: str  # a zoo name or spec text, as cnncalc.load takes it
    input: str | None  # --input for cnncalc.load, or None for the spec's own
    size: int  # 224, 1024, or the chain's input size


def chain_spec(convs: int, size: int = 32, channels: int = 16) -> str:
    """A plain chain of `convs` 3x3 convs, each with batch norm and ReLU."""
    lines = [f"# {convs} conv layers in a chain", f"input {size}x{size}x{channels}"]
    for i in range(1, convs + 1):
        lines += [f"conv{i}: conv {channels} k=3 p=1 bias=false", f"bn{i}: bn", f"relu{i}: relu"]
    lines += ["gap: gap", "flat: flatten", "fc: fc 10"]
    return "\n".join(lines) + "\n"


def cases(names: list[str], sizes: list[int], chains: list[int]) -> list[Case]:
    """The chains first, then each size with the cheapest networks first (by cnncalc's own MACs), so that if the
    time budget runs out it is the slowest runs at the largest size that are skipped."""
    out = [Case(f"chain{c}@32", chain_spec(c), None, 32) for c in chains]
    by_cost = sorted(names, key=lambda n: cnncalc.load(n).totals.macs)
    out += [Case(f"{n}@{s}", n, f"{s}x{s}x3", s) for s in sorted(sizes) for n in by_cost]
    return out


# ----------------------------------------------------------------------------- measuring


@dataclass
class Result:
    tool: str
    status: str = "ok"  # ok, skipped, failed, not installed, not available
    note: str = ""
    times: list[float] = field(default_factory=list)
    memory: int | None = None  # bytes
    params: int | None = None
    figures: dict[str, int] = field(default_factory=dict)  # convention key -> the tool's figure

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def _peak_reset() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _vm_hwm() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _vm_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


MEMORY_METHOD = "VmHWM reset through /proc/self/clear_refs"


def _release_free_memory() -> None:
    """Hand freed heap memory back to the system (glibc's malloc_trim), so that what a call allocates afresh
    shows as growth of the resident set instead of reusing pages an earlier call left resident."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measured_call(fn: Callable[[], Any]) -> tuple[float, int, Any]:
    """(seconds, peak resident-set growth in bytes, result) of one call."""
    global MEMORY_METHOD
    gc.collect()
    _release_free_memory()
    if _peak_reset():
        before = _vm_rss()
        start = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - start
        return seconds, max(_vm_hwm() - before, 0), value
    MEMORY_METHOD = "growth of getrusage ru_maxrss (new highs of the process only)"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before, value


def repeat(result: Result, fn: Callable[[], tuple[dict[str, int], int | None]]) -> Result:
    """Call until the runs are enough for a median: 5 under 0.5 s a call, 3 under 5 s, else 1."""
    seconds, memory, (figures, params) = measured_call(fn)
    result.times.append(seconds)
    result.memory, result.figures, result.params = memory, figures, params
    runs = 5 if seconds < 0.5 else 3 if seconds < 5 else 1
    for _ in range(runs - 1):
        start = time.perf_counter()
        fn()
        result.times.append(time.perf_counter() - start)
    return result


@contextlib.contextmanager
def quiet() -> Any:
    """The tools print tables, progress and warnings; none of it is wanted here."""
    sink = io.StringIO()
    level = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(level)


# ----------------------------------------------------------------------------- the tools

Run = Callable[[Any, Any, tuple[int, ...]], tuple[dict[str, int], int | None]]


def run_fvcore(module: Any, x: Any, shape: tuple[int, ...]) -> tuple[dict[str, int], int | None]:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(module, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return {"fvcore": int(analysis.total())}, None


def run_thop(module: Any, x: Any, shape: tuple[int, ...]) -> tuple[dict[str, int], int | None]:
    from thop import profile

    ops, params = profile(module, inputs=(x,), verbose=False)
    return {"thop": int(ops)}, int(params)


def run_ptflops(module: Any, x: Any, shape: tuple[int, ...]) -> tuple[dict[str, int], int | None]:
    from ptflops import get_model_complexity_info

    macs, params = get_model_complexity_info(module, shape, as_strings=False, print_per_layer_stat=False)
    return {"ptflops": int(macs)}, int(params)


def run_torchinfo(module: Any, x: Any, shape: tuple[int, ...]) -> tuple[dict[str, int], int | None]:
    from torchinfo import summary

    stats = summary(module, input_size=(1, *shape), verbose=0)
    return {"torchinfo": int(stats.total_mult_adds)}, int(stats.total_params)


def run_torchscan(module: Any, x: Any, shape: tuple[int, ...]) -> tuple[dict[str, int], int | None]:
    from torchscan import crawl_module

    totals = crawl_module(module, shape)["totals"]
    figures = {
        "torchscan_flops": int(totals["module_flops"]["known_value"]),
        "torchscan_macs": int(totals["macs"]["known_value"]),
    }
    return figures, int(totals["parameters"]["value"])


def run_flop_counter(module: Any, x: Any, shape: tuple[int, ...]) -> tuple[dict[str, int], int | None]:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return {"flop_counter": int(counter.get_total_flops())}, None


def run_calflops(module: Any, x: Any, shape: tuple[int, ...]) -> tuple[dict[str, int], int | None]:
    from calflops import calculate_flops

    flops, _, params = calculate_flops(
        module, input_shape=(1, *shape), output_as_string=False, print_results=False, print_detailed=False
    )
    return {"deepspeed": int(flops)}, int(params)


def run_forward(module: Any, x: Any, shape: tuple[int, ...]) -> tuple[dict[str, int], int | None]:
    with torch.no_grad():
        module(x)
    return {}, None


@dataclass(frozen=True)
class Tool:
    name: str
    package: str | None  # the module to import to know it is installed
    run: Run
    keys: tuple[str, ...]  # the conventions whose figures it reports
    reference_only: bool = False  # a baseline, not a tool: not run at the large size, to save time


TOOLS = [
    Tool("fvcore", "fvcore", run_fvcore, ("fvcore",)),
    Tool("thop", "thop", run_thop, ("thop",)),
    Tool("ptflops", "ptflops", run_ptflops, ("ptflops",)),
    Tool("torchinfo", "torchinfo", run_torchinfo, ("torchinfo",)),
    Tool("torch-scan", "torchscan", run_torchscan, ("torchscan_flops", "torchscan_macs")),
    Tool("FlopCounterMode", None, run_flop_counter, ("flop_counter",)),
    Tool("calflops", "calflops", run_calflops, ("deepspeed",)),
    Tool("forward pass only", None, run_forward, (), reference_only=True),
]
MAC_UNITS = {"fvcore", "thop", "ptflops", "torchinfo", "torchscan_macs", "macs"}  # counted against FCM / 2


def installed(tool: Tool) -> bool:
    if tool.package is None:
        return True
    try:
        with quiet():
            __import__(tool.package)
    except Exception:  # a tool that fails to import (a missing dependency) is as good as absent
        return False
    return True


def has_from_torch() -> bool:
    try:
        from cnncalc.bridges import torch_import  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- one network


@dataclass
class CaseResult:
    case: Case
    layers: int
    params: int
    columns: dict[str, int]  # cnncalc's figure under each convention
    column_params: dict[str, int]
    results: list[Result]

    def get(self, tool: str) -> Result:
        return next(r for r in self.results if r.tool == tool)


def bench_case(case: Case, tools: list[Tool], reference: dict[str, float], deadline: float) -> CaseResult:
    load = lambda: cnncalc.load(case.source, input=case.input)  # noqa: E731 - the call being timed
    model = load()
    report = conventions(model)
    columns = dict(zip([c.key for c in report.conventions], report.totals, strict=True))
    column_params = dict(zip([c.key for c in report.conventions], report.params, strict=True))
    inp = model.report.inputs[0][1]
    shape = (inp.c, inp.h or 1, inp.w or 1)
    results = [repeat(Result("cnncalc static"), lambda: (_static(load), model.totals.params))]
    results.append(repeat(Result("cnncalc conventions"), lambda: (_conventions(load), model.totals.params)))
    module = model.to_torch().eval()
    x = torch.randn(1, *shape)
    if has_from_torch():
        bridge = Result("cnncalc from_torch")
        try:
            repeat(bridge, lambda: _from_torch(module, shape))
        except Exception as exc:  # the bridge is new: a failure is reported, not fatal
            bridge.status, bridge.note = "failed", f"{type(exc).__name__}: {exc}"[:120]
        results.append(bridge)
    else:
        results.append(Result("cnncalc from_torch", "not available", "cnncalc.bridges.torch_import is not there yet"))
    for tool in tools:
        result = Result(tool.name)
        results.append(result)
        if not installed(tool):
            result.status, result.note = "not installed", f"pip install {tool.package}"
            continue
        at_224 = reference.get(tool.name)
        if case.size > 224 and at_224 is not None:
            estimate = at_224 * (case.size / 224) ** 2
            if estimate > LIMIT_1024:
                result.status, result.note = "skipped", f"about {estimate:.0f} s expected (> {LIMIT_1024:.0f} s)"
                continue
        if time.monotonic() > deadline:
            result.status, result.note = "skipped", "time budget spent"
            continue
        if tool.reference_only and case.size > 224:
            result.status, result.note = "skipped", "measured at 224 and on the chains only"
            continue
        try:
            with quiet():
                repeat(result, lambda t=tool: t.run(module, x, shape))
        except Exception as exc:
            result.status, result.note = "failed", f"{type(exc).__name__}: {exc}"[:120]
    return CaseResult(case, len(model.layers), model.totals.params, columns, column_params, results)


def _static(load: Callable[[], Any]) -> dict[str, int]:
    model = load()
    model.to_dict()
    return {"macs": model.totals.macs}


def _conventions(load: Callable[[], Any]) -> dict[str, int]:
    report = conventions(load())
    return dict(zip([c.key for c in report.conventions], report.totals, strict=True))


def _from_torch(module: Any, shape: tuple[int, ...]) -> tuple[dict[str, int], int | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns about the batch-norm step counters it does not count
        model = cnncalc.from_torch(module, shape)
    model.to_dict()
    return {"macs": model.totals.macs}, model.totals.params


# ----------------------------------------------------------------------------- reporting


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return ""
    return f"{n / 2**20:.1f} MiB"


def verdicts(cr: CaseResult, r: Result) -> list[tuple[str, str, str, str]]:
    """(convention, figure, vs cnncalc column, vs FlopCounterMode) for each figure a result reports."""
    fcm = cr.get("FlopCounterMode")
    fcm_flops = fcm.figures.get("flop_counter") if fcm.status == "ok" else None
    out = []
    for key, value in r.figures.items():
        expected = cr.columns.get(key)
        column = "=" if value == expected else f"≠ {expected:,}" if expected is not None else ""
        if fcm_flops:
            base = fcm_flops / 2 if key in MAC_UNITS else fcm_flops
            diff = (value - base) / base * 100
            vs_fcm = "=" if value == base else f"{diff:+.2f}%"
        else:
            vs_fcm = "n/a"
        out.append((key, f"{value:,} ({human_count(value)})", column, vs_fcm))
    return out


def params_verdict(cr: CaseResult, r: Result) -> str:
    if r.params is None:
        return ""
    key = next(iter(r.figures), "macs")
    expected = cr.column_params.get(key, cr.params)
    return f"{r.params:,}" + ("" if r.params == expected else f" (≠ {expected:,})")


def print_case(cr: CaseResult) -> None:
    static = cr.get("cnncalc static").median
    print(f"\n## {cr.case.label}: {cr.layers} layers, {cr.params:,} params, {cr.columns['macs']:,} MACs")
    header = ("tool", "median", "first", "runs", "x static", "peak RSS +", "params", "figure", "= column", "vs FCM")
    rows = []
    for r in cr.results:
        if r.status != "ok":
            rows.append((r.tool, r.status, "", "", "", "", "", r.note, "", ""))
            continue
        ratio = f"{r.median / static:,.0f}x" if static and r.median is not None else ""
        first = fmt_time(r.times[0])
        base = (r.tool, fmt_time(r.median), first, str(len(r.times)), ratio, fmt_bytes(r.memory), params_verdict(cr, r))
        figures = [] if r.tool == "cnncalc conventions" else verdicts(cr, r)
        if r.tool == "cnncalc static":
            figures = [("macs", f"{cr.columns['macs']:,} ({human_count(cr.columns['macs'])})", "=", _vs_fcm(cr))]
        if not figures:
            rows.append((*base, "", "", ""))
        for i, (key, fig, col, vs) in enumerate(figures):
            rows.append((*(base if i == 0 else ("",) * 7), f"{key}: {fig}", col, vs))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _vs_fcm(cr: CaseResult) -> str:
    fcm = cr.get("FlopCounterMode")
    if fcm.status != "ok":
        return "n/a"
    return "=" if fcm.figures["flop_counter"] == 2 * cr.columns["macs"] else "≠"


def markdown(results: list[CaseResult]) -> str:
    tools = [r.tool for r in results[0].results if r.tool != "cnncalc static"]
    lines = [
        "Time (median, torch 1 thread, batch 1) and its ratio to cnncalc's static path; `-`: not run (see the notes).",
        "",
        "| network | cnncalc static | " + " | ".join(tools) + " |",
        "|---|---:|" + "---:|" * len(tools),
    ]
    for cr in results:
        static = cr.get("cnncalc static").median or 0
        cells = []
        for tool in tools:
            r = cr.get(tool)
            if r.status != "ok" or r.median is None:
                cells.append("-")
            else:
                cells.append(f"{fmt_time(r.median)} ({r.median / static:,.0f}x)" if static else fmt_time(r.median))
        lines.append(f"| {cr.case.label} | {fmt_time(static)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Each tool's figure against cnncalc's column for its convention (`=`: equal to the unit) and against "
        "PyTorch's FlopCounterMode (in the tool's unit: FlopCounterMode / 2 for MACs).",
        "",
    ]
    figure_tools = [t for t in TOOLS if t.keys]
    keys = [k for t in figure_tools for k in t.keys]
    lines.append("| network | cnncalc MACs | " + " | ".join(_key_title(k) for k in keys) + " |")
    lines.append("|---|---:|" + "---:|" * len(keys))
    for cr in results:
        cells = []
        for t in figure_tools:
            r = cr.get(t.name)
            for k in t.keys:
                if r.status != "ok":
                    cells.append("-")
                    continue
                _, _, col, vs = next(v for v in verdicts(cr, r) if v[0] == k)
                mark = "=" if col == "=" else "**≠**"
                cells.append(f"{human_count(r.figures[k])} {mark} ({vs} FCM)")
        lines.append(f"| {cr.case.label} | {human_count(cr.columns['macs'])} | " + " | ".join(cells) + " |")
    lines += ["", f"Peak memory: growth of the process's peak resident set during one call ({MEMORY_METHOD}).", ""]
    lines.append("| network | cnncalc static | " + " | ".join(tools) + " |")
    lines.append("|---|---:|" + "---:|" * len(tools))
    for cr in results:
        cells = [fmt_bytes(cr.get(t).memory) if cr.get(t).status == "ok" else "-" for t in tools]
        lines.append(f"| {cr.case.label} | {fmt_bytes(cr.get('cnncalc static').memory)} | " + " | ".join(cells) + " |")
    notes = sorted({f"{cr.case.label} {r.tool}: {r.status} ({r.note})" for cr in results for r in cr.results
                    if r.status != "ok"})  # fmt: skip
    if notes:
        lines += ["", "Not measured:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _key_title(key: str) -> str:
    return {
        "fvcore": "fvcore",
        "thop": "thop",
        "ptflops": "ptflops",
        "torchinfo": "torchinfo",
        "torchscan_flops": "torch-scan FLOPs",
        "torchscan_macs": "torch-scan MACs",
        "flop_counter": "FlopCounterMode",
        "deepspeed": "calflops",
    }[key]


def warm_up(tools: list[Tool]) -> None:
    """Import every tool and run it once on a small network, so first-call costs do not land on a measurement."""
    model = cnncalc.load("resnet18", input="64x64x3")
    module = model.to_torch().eval()
    x = torch.randn(1, 3, 64, 64)
    for tool in tools:
        if installed(tool):
            with contextlib.suppress(Exception), quiet():
                tool.run(module, x, (3, 64, 64))
    if has_from_torch():
        with contextlib.suppress(Exception):
            _from_torch(module, (3, 64, 64))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"zoo models (default: {' '.join(ZOO)})")
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="input sizes (default: 224 1024)")
    parser.add_argument("--chains", type=int, nargs="*", default=None, help="conv chains (default: 50 200 1000)")
    parser.add_argument("--budget", type=float, default=720.0, help="seconds after which tool runs are skipped")
    parser.add_argument("--quick", action="store_true", help="resnet18 and mobilenet_v2 at 224, chain of 50")
    parser.add_argument("--markdown", help="also write the Markdown tables to this file")
    parser.add_argument("--json", help="write every measurement to this file")
    args = parser.parse_args(argv)
    names = args.names or (["resnet18", "mobilenet_v2"] if args.quick else ZOO)
    sizes = [224] if args.quick else args.sizes
    chains = args.chains if args.chains is not None else ([50] if args.quick or args.names else CHAINS)
    torch.set_num_threads(1)
    # ptflops and calflops feed the model torch.empty-like input: whatever was in memory, denormal numbers
    # included, which can make a forward pass several times slower. Flushing them keeps the times comparable.
    torch.set_flush_denormal(True)
    started = time.monotonic()
    deadline = started + args.budget
    print(f"cnncalc {cnncalc.__version__}, torch {torch.__version__}, 1 thread; {_versions()}")
    print(f"memory: {MEMORY_METHOD}")
    warm_up(TOOLS)
    results: list[CaseResult] = []
    reference: dict[str, dict[str, float]] = {}
    for case in cases(names, sizes, chains):
        at_224 = reference.get(case.source, {})
        cr = bench_case(case, TOOLS, at_224, deadline)
        if case.size == 224:
            reference[case.source] = {r.tool: r.times[0] for r in cr.results if r.times}
        results.append(cr)
        print_case(cr)
        sys.stdout.flush()
    print(f"\n# Markdown ({time.monotonic() - started:.0f} s in all)\n")
    text = markdown(results)
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([_as_json(cr) for cr in results], f, indent=2)


def _as_json(cr: CaseResult) -> dict[str, Any]:
    return {
        "network": cr.case.label,
        "layers": cr.layers,
        "params": cr.params,
        "cnncalc_columns": cr.columns,
        "results": [
            {
                "tool": r.tool,
                "status": r.status,
                "note": r.note,
                "times": r.times,
                "memory": r.memory,
                "params": r.params,
                "figures": r.figures,
            }
            for r in cr.results
        ],
    }


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for package in ("fvcore", "thop", "ptflops", "torchinfo", "torchscan", "calflops"):
        try:
            out.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            out.append(f"{package} not installed")
    return ", ".join(out)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main(sys.argv[1:])
