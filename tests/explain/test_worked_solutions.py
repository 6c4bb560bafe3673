"""Worked solutions (cnncalc.render.explain) in plain text, Markdown and LaTeX.

The AlexNet figures are the lecture slides' (../shared/seeds/003_50c2e10402a1f040.txt: "(227-11)/4+1=55",
"(11*11*3)*96+96=34,944", "(55-3)/2+1=27", "(27-5+2*2)/1+1=27", "(5*5*48*128+128)*2 = 307456", "(13-3)/2+1=6"),
its receptive fields google-research/receptive_field's (tests/reference/receptive_fields.csv), and the rest
arithmetic written out here. None is pasted from cnncalc's output.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import cnncalc
from cnncalc import zoo
from cnncalc.expr import Step
from cnncalc.render.explain import explain_latex, explain_markdown, explain_text, tex_escape, worked
from conftest import reference_rows


@pytest.fixture(scope="module")
def alexnet() -> str:
    return explain_text(cnncalc.load("alexnet_caffe").report)


def block(text: str, layer: str) -> str:
    """The lines of one layer in the plain-text solution: its head line and the indented lines under it."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line == layer or line.startswith((f"{layer} (", f"{layer}: ")):
            end = i + 1
            while end < len(lines) and lines[end].startswith("  "):
                end += 1
            return "\n".join(lines[i:end])
    raise AssertionError(f"no block for {layer}")


def field(network: str, endpoint: str) -> tuple[int, int]:
    for row in reference_rows("receptive_fields.csv"):
        if row["network"] == network and row["endpoint"] == endpoint:
            return int(row["rf_size"]), int(row["effective_stride"])
    raise AssertionError(f"{network}/{endpoint} not in receptive_fields.csv")


# ---------------------------------------------------------------------------------------------------------------
# AlexNet as the slides work it


def test_alexnet_conv1_as_the_slides(alexnet: str) -> None:
    conv1 = block(alexnet, "conv1")
    assert "output: H = W = (227 - 11)/4 + 1 = 55 → 55x55x96" in conv1  # slide: (227-11)/4+1=55, 55*55*96
    assert "weights: 11×11×3×96 = 34,848" in conv1
    assert "biases: 96" in conv1
    assert "params: 34,848 + 96 = 34,944" in conv1  # slide: (11*11*3)*96+96=34,944
    assert f"MACs: 55×55×96×11×11×3 = {55 * 55 * 96 * 11 * 11 * 3:,}" in conv1
    size, jump = field("alexnet_v2", "alexnet_v2/conv1")
    assert f"RF: 1 + (11 - 1)×1 = {size}; jump: 1×4 = {jump}" in conv1


def test_alexnet_pool_and_grouped_conv(alexnet: str) -> None:
    pool1 = block(alexnet, "pool1")
    assert "(55 - 3)/2 + 1 = 27 → 27x27x96" in pool1  # slide: (55-3)/2+1=27
    assert "no parameters" in pool1
    size, jump = field("alexnet_v2", "alexnet_v2/pool1")
    assert f"RF: 11 + (3 - 1)×4 = {size}; jump: 4×2 = {jump}" in pool1
    conv2 = block(alexnet, "conv2")
    # Slide: (27-5+2*2)/1+1=27; stride 1 drops the "/1". Two towers of 5*5*48*128+128: the groups show as 96/2.
    assert "27 + 2×2 - 5 + 1 = 27 → 27x27x256" in conv2
    assert f"weights: 5×5×(96/2)×256 = {5 * 5 * 48 * 256:,}" in conv2
    assert f"params: {5 * 5 * 48 * 256:,} + 256 = 307,456" in conv2  # slide: (5*5*48*128+128)*2 = 307456
    assert f"MACs: 27×27×256×5×5×(96/2) = {27 * 27 * 256 * 5 * 5 * 48:,}" in conv2
    size, _ = field("alexnet_v2", "alexnet_v2/conv2")
    assert f"RF: 19 + (5 - 1)×8 = {size}; jump: 8\n" in conv2 + "\n"  # stride 1: the jump stays 8, no "8×1"
    assert "(13 - 3)/2 + 1 = 6 → 6x6x256" in block(alexnet, "pool5")  # slide: (13-3)/2+1=6


def test_alexnet_other_convs_and_totals(alexnet: str) -> None:
    # Slide: 3*3*256*384+384 = 885120, (3*3*192*192+192)*2 = 663936, (3*3*192*128+128)*2 = 442624.
    assert "params: 884,736 + 384 = 885,120" in block(alexnet, "conv3")
    assert "params: 663,552 + 384 = 663,936" in block(alexnet, "conv4")
    assert "params: 442,368 + 256 = 442,624" in block(alexnet, "conv5")
    assert "13 + 2×1 - 3 + 1 = 13" in block(alexnet, "conv3")  # slide: (13-3+1*2)/1+1=13
    assert f"weights: 9,216×4,096 = {9216 * 4096:,}" in block(alexnet, "fc6")
    fc = [9216 * 4096 + 4096, 4096 * 4096 + 4096, 4096 * 1000 + 1000]
    by_layer = [34_944, 307_456, 885_120, 663_936, 442_624, *fc]
    expected = " + ".join(f"{x:,}" for x in by_layer) + " = 60,965,224"  # tests/reference/paper_numbers.csv
    assert expected in alexnet
    assert alexnet.startswith("Worked solution: alexnet_caffe\ninput: input 227x227x3\nconventions:")


def test_layers_without_steps_get_one_line(alexnet: str) -> None:
    assert "relu1 (relu): 55x55x96; no parameters" in alexnet.splitlines()
    assert "drop6 (dropout): 4096; no parameters" in alexnet.splitlines()


def test_exact_divisions_show_no_floor(alexnet: str) -> None:
    assert "floor" not in alexnet and "⌊" not in alexnet


# ---------------------------------------------------------------------------------------------------------------
# The simplification rules, on small layers worked by hand


def one(spec: str, layer: str) -> str:
    return block(explain_text(cnncalc.load(spec).report), layer)


def test_inexact_division_shows_the_quotient_and_the_floor() -> None:
    # (7 - 3)/3 + 1 = 2.333..., floored to 2.
    c = one("input 7x7x1\nc: conv 1 k=3 s=3\n", "c")
    assert "output: H = W = (7 - 3)/3 + 1 ≈ 2.33 → floor 2 → 2x2x1" in c
    assert "warning: H and W:" in c and "never read" in c
    # (8 - 3)/2 + 1 = 3.5 exactly; ceil mode keeps the last partial window: 4 (PyTorch's MaxPool2d ceil_mode).
    assert "(8 - 3)/2 + 1 = 3.5 → ceil 4 → 4x4x1" in one("input 8x8x1\np: maxpool k=3 s=2 ceil=true\n", "p")


def test_zero_padding_unit_stride_and_dilation() -> None:
    assert "output: H = W = 8 + 2×1 - 3 + 1 = 8 → 8x8x4" in one("input 8x8x1\nc: conv 4 k=3 p=1\n", "c")
    padded = one("input 8x8x1\nc: conv 4 k=3 s=2\n", "c")
    assert "(8 - 3)/2 + 1" in padded and "2×0" not in padded
    # A dilated 3x3 spans 2×(3 - 1) + 1 = 5 inputs: (9 - 5)/1 + 1 = 5.
    dilated = one("input 9x9x1\nc: conv 1 k=3 d=2\n", "c")
    assert "output: H = W = 9 - 2×(3 - 1) - 1 + 1 = 5 → 5x5x1" in dilated
    assert "RF: 1 + 2×(3 - 1)×1 = 5; jump: 1" in dilated


def test_a_1x1_kernel_is_not_simplified_away() -> None:
    c = one("input 4x4x8\nc: conv 16 k=1\n", "c")
    assert f"weights: 1×1×8×16 = {8 * 16}" in c
    assert f"MACs: 4×4×16×1×1×8 = {4 * 4 * 16 * 8:,}" in c


def test_no_bias_batch_norm_and_asymmetric_sizes() -> None:
    spec = "input 10x6x3\nset bias=false\nc: conv 4 k=3\nb: bn\n"
    c = one(spec, "c")
    assert "output: H = 10 - 3 + 1 = 8; W = 6 - 3 + 1 = 4 → 8x4x4" in c
    assert "biases: none (bias=false)" in c and "params: 108" in c  # 3*3*3*4
    b = one(spec, "b")
    assert "params: 4 + 4 = 8" in b and "running mean and variance (buffers): 2×4 = 8" in b
    no_bias = explain_text(cnncalc.load("input 4x4x1\nc: conv 2 k=3\n", bias=False).report)
    assert "biases: not counted (--no-bias)" in block(no_bias, "c")


def test_worked_step_in_each_flavour() -> None:
    step = Step.of("weights", "K_h*K_w*C_in/g*C_out", K_h=5, K_w=5, C_in=96, g=2, C_out=256)
    assert worked(step) == "5×5×(96/2)×256 = 307,200"
    assert worked(step, "latex") == r"5 \times 5 \times \frac{96}{2} \times 256 = 307{,}200"
    size = Step.of("H_out", "floor((N + 2*P - K)/S) + 1", N=8, P=0, K=3, S=2)
    assert worked(size, "latex") == r"\frac{8 - 3}{2} + 1 = 3.5 \xrightarrow{\text{floor}} 3"


def test_posenet_without_biases_totals() -> None:
    # The seed homework counts weights only: 6,260,320.
    text = explain_text(cnncalc.load("posenet", bias=False).report)
    totals = text[text.index("\ntotals\n") :]
    assert "params = weights + biases = 6,260,320 + 0 = 6,260,320" in totals
    # pd1 = 3200x512, pd2 = 512x512, pd = 512x448 (7 parts of 8x8), written out by hand.
    assert f"weights: 3,200×512 = {3200 * 512:,}" in block(text, "pd1")
    assert f"weights: 512×448 = {512 * 448:,}" in block(text, "pd")


# ---------------------------------------------------------------------------------------------------------------
# Training-only layers and unknown MACs are stated, never shown as 0


def awkward() -> cnncalc.Model:
    """Names the spec would refuse but the Builder (and from_torch) accept, an unknown op and a training-only head."""
    b = cnncalc.Builder("net #1 & 50% _x_ {y} ~^\\")
    b.input("8x8x1", name="in_put$")
    b.add("conv", 2, k=3, s=2, name="conv_1%#&")  # (8 - 3)/2 + 1 = 3.5: a warning
    b.add("relu", name="a{b}~^\\c|<d>")
    b.add("conv", 2, k=2, name="ünï-code--x")
    b.add("flatten", name="flat")
    b.add("opaque", "5", params=3, what="torch.nn.GRU_%&", name="gru")
    b.add("fc", 3, name="head", aux=True)
    return cnncalc.load(b.build())


def test_training_only_and_unknown_macs_are_stated() -> None:
    text = explain_text(awkward().report)
    assert "MACs unknown (left out of the total, not counted as 0)" in block(text, "gru")
    assert "training only" in block(text, "head")
    assert "MACs unknown for gru: left out of the total" in text
    assert "training only: 1 layer adds 18 params" in text  # head: 5*3 + 3
    for render in (explain_markdown, explain_latex):
        out = render(awkward().report)
        assert "training only" in out.lower() and "unknown" in out


def test_googlenet_aux_heads_are_training_only() -> None:
    text = explain_text(cnncalc.load("googlenet", options={"aux": True}).report)
    assert "training only" in block(text, "aux1.fc2")
    assert "training only: 18 layers add" in text


# ---------------------------------------------------------------------------------------------------------------
# Escaping


def test_latex_escapes_awkward_names() -> None:
    tex = explain_latex(awkward().report)
    assert r"\texttt{conv\_1\%\#\&}" in tex
    odd = r"a\{b\}\textasciitilde{}\textasciicircum{}\textbackslash{}c\textbar{}\textless{}d\textgreater{}"
    assert rf"\texttt{{{odd}}}" in tex
    assert r"\title{Worked solution: \texttt{net \#1 \& 50\% \_x\_ \{y\} \textasciitilde{}\textasciicircum{}" in tex
    assert r"torch.nn.GRU\_\%\&" in tex
    assert "ünï" not in tex and r"\texttt{uni-{}code-{}-{}x}" in tex
    # % would comment out the rest of a line and # is a macro parameter: neither may appear unescaped.
    assert not re.search(r"(?<!\\)[%#]", tex)


def test_tex_escape() -> None:
    assert tex_escape("a_b%c#d&e$f{g}") == r"a\_b\%c\#d\&e\$f\{g\}"
    assert tex_escape("--no-bias") == "-{}-{}no-{}bias"
    assert tex_escape("2 × 3 → 6") == r"2 $\times$ 3 $\rightarrow$ 6"


def test_markdown_escapes_awkward_names() -> None:
    md = explain_markdown(awkward().report)
    assert md.startswith(r"# Worked solution: net \#1 \& 50% \_x\_ {y} \~^\\")
    assert r"**conv\_1%\#\&** (conv)" in md
    assert r"**a{b}\~^\\c\|\<d\>** (relu): `3x3x2`; no parameters" in md
    assert "- output: `H = W = (8 - 3)/2 + 1 = 3.5 → floor 3` → `3x3x2`" in md


# ---------------------------------------------------------------------------------------------------------------
# LaTeX structure (always) and compilation (where pdflatex is installed: Debian's texlive-latex-base)

ALLOWED_PACKAGES = {"geometry", "amsmath", "array"}


def check_structure(tex: str, fragment: bool = False) -> None:
    if fragment:
        body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
        assert r"\documentclass" not in body and r"\begin{document}" not in body and r"\usepackage" not in body
    else:
        assert tex.startswith(r"\documentclass")
        assert tex.count(r"\begin{document}") == 1 and tex.rstrip().endswith(r"\end{document}")
    packages = set(re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]*)\}", tex))
    assert packages <= ALLOWED_PACKAGES, packages - ALLOWED_PACKAGES
    stack: list[str] = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", tex):
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack.pop() == env, env
    assert not stack
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0


def test_latex_structure_of_alexnet() -> None:
    tex = explain_latex(cnncalc.load("alexnet_caffe").report)
    check_structure(tex)
    assert "booktabs" not in tex
    assert r"\begin{tabular}" in tex and r"\begin{align*}" in tex
    assert r"\frac{227 - 11}{4} + 1 = 55 \;\rightarrow\; 55 \times 55 \times 96" in tex
    assert r"5 \times 5 \times \frac{96}{2} \times 256 = 307{,}200" in tex
    assert r"\text{params} &= 307{,}200 + 256 = 307{,}456" in tex
    for convention in cnncalc.load("alexnet_caffe").report.settings.conventions():
        assert tex_escape(convention) in tex


@pytest.fixture(scope="module")
def pdflatex() -> str:
    path = shutil.which("pdflatex")
    if path is None:
        pytest.skip("pdflatex is not installed (Debian: apt-get install texlive-latex-base); the structure is checked")
    return path


def compile_latex(tex: str, folder: Path, pdflatex: str) -> None:
    check_structure(tex)
    (folder / "solution.tex").write_text(tex, encoding="utf-8")
    run = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "solution.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
    assert run.returncode == 0, errors or run.stdout[-2000:]
    assert (folder / "solution.pdf").stat().st_size > 0
    log = (folder / "solution.log").read_text(encoding="utf-8", errors="replace")
    assert "Missing character" not in log
    # One run is enough: nothing asks for another (longtable's "Table widths have changed", undefined references).
    assert "Rerun" not in log and "undefined references" not in log, [x for x in log.splitlines() if "Rerun" in x]


COMPILED = [
    ("alexnet_caffe", {}),
    ("googlenet", {"options": {"aux": True}}),  # a long table over several pages, training-only rows
    ("regnet_x_400mf", {}),  # warnings on inexact sizes
]


@pytest.mark.parametrize(("name", "kwargs"), COMPILED, ids=[c[0] for c in COMPILED])
def test_latex_compiles(name: str, kwargs: dict, tmp_path, pdflatex) -> None:
    compile_latex(explain_latex(cnncalc.load(name, **kwargs).report), tmp_path, pdflatex)


def test_latex_of_awkward_names_compiles(tmp_path, pdflatex) -> None:
    compile_latex(explain_latex(awkward().report), tmp_path, pdflatex)


# ---------------------------------------------------------------------------------------------------------------
# Every zoo model, in every format

ZOO = [(name, {}) for name in zoo.names()] + [("googlenet", {"aux": True})]


@pytest.mark.parametrize(("name", "options"), ZOO, ids=[f"{n}{'-aux' if o else ''}" for n, o in ZOO])
def test_every_zoo_model_renders(name: str, options: dict) -> None:
    report = cnncalc.load(name, options=options or None).report
    text, md, tex = explain_text(report), explain_markdown(report), explain_latex(report)
    check_structure(tex)
    for layer in report.layers:
        assert f"\n{layer.name} (" in text
        assert tex_escape(layer.name) in tex
        assert layer.name.replace("_", r"\_") in md
    t = report.totals
    for out in (text, md):
        assert f"{t.params:,}" in out and f"{t.macs:,}" in out and f"{t.flops:,}" in out
    for layer in report.layers:
        for w in layer.warnings:
            assert w in text


def test_fragment_inputs_into_a_report(cli, tmp_path, pdflatex) -> None:  # type: ignore[no-untyped-def]
    result = cli("show", "alexnet_caffe", "--format", "latex", "--fragment")
    assert result.returncode == 0, result.stderr
    fragment = result.stdout
    check_structure(fragment, fragment=True)
    assert r"\frac{227 - 11}{4} + 1 = 55" in fragment  # (227 - 11)/4 + 1 = 55, as worked by hand
    (tmp_path / "alexnet.tex").write_text(fragment, encoding="utf-8")
    report = "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage{amsmath}",
            r"\usepackage{array}",
            r"\begin{document}",
            r"\section{My homework}",
            r"Some text of my own.",
            r"\input{alexnet}",
            r"\end{document}",
        ]
    )
    compile_latex(report + "\n", tmp_path, pdflatex)


def test_fragment_needs_latex(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("show", "alexnet_caffe", "--fragment")
    assert result.returncode == 2 and "--format latex" in result.stderr
