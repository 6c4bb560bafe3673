"""The `cnncalc` command."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import zoo
from .api import load, read_graph
from .commands import LazyGroup
from .commands._common import input_option, layout_option, zoo_options
from .errors import CnnCalcError
from .ops.base import all_ops
from .spec import parse_spec

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv", "md", "spec", "latex")


def _stdin() -> str:
    from .files import read_stdin

    return read_stdin()


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cnncalc")
def main() -> None:
    """Shapes, parameters, MACs, memory and receptive fields of convolutional networks."""


@main.command()
@click.argument("spec")
@click.argument("options", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--layout", type=click.Choice(("hwc", "chw")), default="hwc", show_default=True,
              help="write shapes (the table's and --input's) as H x W x C or C x H x W")  # fmt: skip
@click.option(
    "--input",
    "input_",
    metavar="HxWxC",
    help="replace the input shape, in --layout's order (name=HxWxC for one of several)",
)
@click.option("--no-bias", is_flag=True, help="count as if no layer had a bias")
@click.option("--strict", is_flag=True, help="a non-exact output size is an error, not a warning")
@click.option(
    "--conventions",
    "conventions_",
    is_flag=True,
    help="totals under each FLOP tool's convention (fvcore, thop, ptflops, torchinfo, torch-scan, "
    "FlopCounterMode, DeepSpeed/calflops), side by side, each saying what it counts",
)
@click.option("--per-layer", is_flag=True, help="with --conventions: a row per layer, a column per convention")
@click.option(
    "--explain",
    is_flag=True,
    help="the worked arithmetic of every layer (output size, weights, biases, params, MACs, receptive field), "
    "as text, or with --format md or latex (latex: a complete document)",
)
@click.option(
    "--fragment",
    is_flag=True,
    help="with --format latex: the worked solution without the document around it, to \\input into your own "
    "report (its preamble needs amsmath and array)",
)
def show(
    spec: str,
    options: tuple[str, ...],
    fmt: str,
    layout: str,
    input_: str | None,
    no_bias: bool,
    strict: bool,
    conventions_: bool,
    per_layer: bool,
    explain: bool,
    fragment: bool,
) -> None:
    """Print the layer table of SPEC: a spec file, - for standard input, or a zoo name.

    A zoo model takes its options as KEY=VALUE, e.g. `cnncalc show googlenet aux=true`.
    """
    from .render import render_csv, render_json, render_markdown, render_table

    if per_layer and not conventions_:
        _fail("--per-layer goes with --conventions")
        return
    if conventions_ and fmt not in ("table", "md", "json"):
        _fail(f"--conventions prints table, md or json, not {fmt}")
        return
    if explain and fmt not in ("table", "md", "latex"):
        _fail(f"--explain prints text (the default), md or latex, not {fmt}")
        return
    if fragment and fmt != "latex":
        _fail("--fragment goes with --format latex (a part to \\input into your own document)")
        return

    try:
        source: Any = spec
        if spec == "-":
            source = parse_spec(_stdin(), source="<stdin>", name="stdin")
        with warnings.catch_warnings():
            # Import warnings (an op cnncalc does not know) are listed under the table already.
            warnings.simplefilter("ignore")
            model = load(
                source, input=input_, bias=not no_bias, strict=strict, layout=layout, options=zoo_options(options)
            )
    except CnnCalcError as exc:
        _fail(str(exc))
        return
    if conventions_:
        from .passes.conventions import conventions
        from .render.conventions import render_conventions

        click.echo(render_conventions(conventions(model), per_layer=per_layer, fmt=fmt), nl=False)
        return
    if explain or fmt == "latex":
        from .render.explain import explain_latex, explain_markdown, explain_text

        if fmt == "latex":
            click.echo(explain_latex(model.report, fragment=fragment), nl=False)
        else:
            click.echo((explain_markdown if fmt == "md" else explain_text)(model.report), nl=False)
    elif fmt == "spec":
        click.echo(model.to_spec(), nl=False)
    elif fmt == "json":
        click.echo(render_json(model.report), nl=False)
    elif fmt == "csv":
        click.echo(render_csv(model.report), nl=False)
    elif fmt == "md":
        click.echo(render_markdown(model.report), nl=False)
    else:
        click.echo(render_table(model.report), nl=False)


@main.command(name="zoo")
@click.option("--format", "fmt", type=click.Choice(("table", "md", "csv", "json")), default="table", show_default=True,
              help="table fits the terminal; md, csv and json give every field whole (source included)")  # fmt: skip
def zoo_command(fmt: str) -> None:
    """List the built-in networks: default input, params, MACs (at that input), what each is and its source."""
    from .render.zoo import ZooRow, render_zoo

    rows = []
    for name in zoo.names():
        entry = zoo.get(name)
        model = load(name)
        options = " ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in entry.options.items())
        rows.append(
            ZooRow(
                name,
                model.report.inputs[0][1].text(),
                model.totals.params,
                model.totals.buffers,
                model.totals.macs,
                entry.summary,
                entry.source,
                options,
            )
        )
    click.echo(render_zoo(rows, fmt), nl=False)


@main.command()
@click.argument("spec")
@click.argument("options", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--to", "target", type=click.Choice(("torch",)), default="torch", show_default=True)
@click.option("-o", "--output", default="-", metavar="FILE", help="where to write (default: standard output)")
@input_option()
@layout_option("how --input writes shapes: H x W x C, or C x H x W as PyTorch does")
@click.option("--class-name", default=None, help="name of the generated nn.Module class")
def export(
    spec: str,
    options: tuple[str, ...],
    target: str,
    output: str,
    input_: str | None,
    layout: str,
    class_name: str | None,
) -> None:
    """Write SPEC (a spec file, - or a zoo name) as a runnable PyTorch file: one nn.Module class."""
    from .bridges import require_torch

    try:
        require_torch()
        source: Any = spec
        if spec == "-":
            source = parse_spec(_stdin(), source="<stdin>", name="stdin")
        model = load(source, input=input_, options=zoo_options(options), layout=layout)
        code = model.to_torch_source(class_name)
    except CnnCalcError as exc:
        _fail(str(exc))
        return
    if output == "-":
        click.echo(code, nl=False)
    else:
        try:
            with open(output, "w", encoding="utf-8") as f:
                f.write(code)
        except OSError as exc:
            _fail(f"-o {output}: cannot write it: {exc.strerror}")
            return
        click.echo(f"wrote {output}: {len(model.layers)} layers, {model.totals.params:,} params", err=True)


@main.command()
def ops() -> None:
    """List the ops of the text spec with their keys."""
    for op in sorted(all_ops(), key=lambda o: o.name):
        parts = [op.name]
        if op.positional is not None:
            parts.append(f"<{op.positional.help or op.positional.name}>")
        for p in op.keys:
            parts.append(f"{p.name}=" + (p.fmt(p.default) if p.default is not None else "..."))
        aliases = f"  (also {', '.join(op.aliases)})" if op.aliases else ""
        click.echo(f"{' '.join(parts)}\n    {op.summary}{aliases}")


def _load_for_teaching(spec: str, input_: str | None, no_bias: bool, layout: str = "hwc") -> Any:
    source: Any = parse_spec(_stdin(), source="<stdin>", name="stdin") if spec == "-" else spec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(source, input=input_, bias=not no_bias, layout=layout)


def _read_text(path: str) -> str:
    from .files import read_text_file

    return read_text_file(path)  # regular files only, with a size limit (a FIFO or /dev/zero would never end)


@main.command()
@click.argument("spec")
@click.option("--total", metavar="N", help="a student's total to check (34,944 and 34944 are both fine)")
@click.option("--of", "of", type=click.Choice(("params", "weights", "macs", "flops")), default="params",
              show_default=True, help="what --total counts")  # fmt: skip
@click.option("--answers", metavar="FILE.csv", help="a student's table: layer, then output_shape, params, macs...")
@click.option("--no-bias", is_flag=True, help="the question counts params without biases")
@input_option()
@click.option("--layout", type=click.Choice(("hwc", "chw")), default="hwc", show_default=True,
              help="how the answers and --input write shapes")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(("text", "md", "json")), default="text", show_default=True)
def check(
    spec: str, total: str | None, of: str, answers: str | None, no_bias: bool, input_: str | None, layout: str,
    fmt: str,
) -> None:  # fmt: skip
    """Check a student's answers against SPEC, or, with neither --total nor --answers, that SPEC is valid.

    Exits 0 when every answer is right, 1 when one is wrong (with the right figure and the likely slips),
    2 when the input cannot be read.

    The course's other calculations are checked the same way: `cnncalc check loss --scores 3.2,5.1,-1.7 --label 0
    --answer ce=0.89` (also linear, chain, batchnorm and lowrank; their options as `cnncalc loss --help` lists).
    """
    from .render.teach import render_checked
    from .teach.answers import Checked, check_answers, check_total, parse_number
    from .teach.diagnose import Network, figure_name

    try:
        if total is None and answers is None:
            graph = read_graph(spec) if spec != "-" else parse_spec(_stdin(), source="<stdin>", name="stdin")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # import warnings are in the model's own list
                checked_model = load(graph)
            raised = checked_model.warnings
            click.echo(f"{spec}: ok, {len(graph.nodes)} layers" + (f", {len(raised)} warning(s):" if raised else ""))
            for line in raised:
                click.echo(f"  {line}")
            return
        model = _load_for_teaching(spec, input_, no_bias, layout)
        net = Network(model)
        checked = Checked([], [])
        if total is not None:
            try:
                claimed = parse_number(total)
            except ValueError as exc:
                raise CnnCalcError(f"--total {total[:40]}: {exc}") from None
            checked.verdicts.append(check_total(net, of, claimed))
        if answers is not None:
            found = check_answers(net, _read_text(answers), answers)
            checked.verdicts += found.verdicts
            checked.skipped += found.skipped
            if not found.verdicts:
                raise CnnCalcError(f"{answers}: no answer could be read (" + "; ".join(
                    f"line {s.line}: {s.message}" for s in found.skipped[:3]) + ")")  # fmt: skip
    except CnnCalcError as exc:
        _fail(str(exc))
        return
    convention = figure_name(of, not no_bias) if total is not None else figure_name("params", not no_bias)
    click.echo(render_checked(checked, fmt, convention), nl=False)
    sys.exit(0 if checked.ok else 1)


@main.command()
@click.argument("key")
@click.option("--answers", metavar="CLASS.csv", required=True,
              help="one row per student: student, then total and/or LAYER.FIELD columns")  # fmt: skip
@click.option("--of", "of", type=click.Choice(("params", "weights", "macs", "flops")), default="params",
              show_default=True, help="what the `total` column counts")  # fmt: skip
@click.option("--no-bias", is_flag=True, help="the question counts params without biases")
@input_option()
@click.option("--layout", type=click.Choice(("hwc", "chw")), default="hwc", show_default=True,
              help="how the answers and --input write shapes")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(("table", "md", "csv", "json")), default="table",
              show_default=True)  # fmt: skip
def grade(key: str, answers: str, of: str, no_bias: bool, input_: str | None, layout: str, fmt: str) -> None:
    """Grade a class file against the network KEY (a spec file or a zoo name), or against an exercise key (the
    key.json of `cnncalc exercise`: each student against their own sheet): a score and the slips per student,
    and how many students made each slip. A malformed row is reported with its line number and skipped."""
    from .render.teach import render_grades
    from .teach.diagnose import Network, figure_name
    from .teach.grade import grade as grade_class

    try:
        if key.endswith(".json") and os.path.isfile(key):  # an exercise key: each student against their variant
            from .teach.exercise_grade import grade_exercise, read_key

            result = grade_exercise(read_key(_read_text(key), key), _read_text(answers), answers)
            click.echo(render_grades(result, fmt, "each student against their own sheet"), nl=False)
            return
        net = Network(_load_for_teaching(key, input_, no_bias, layout))
        result = grade_class(net, _read_text(answers), answers, of)
    except CnnCalcError as exc:
        _fail(str(exc))
        return
    click.echo(render_grades(result, fmt, "total: " + figure_name(of, not no_bias)), nl=False)


if __name__ == "__main__":
    main()
