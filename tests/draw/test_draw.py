"""The block drawing (SVG, TikZ, PNG, PDF), the cost plot and the HTML table.

Shapes in the labels are checked against the report of the same model and, for AlexNet, against the hand
arithmetic of a course example: (227 - 11)/4 + 1 = 55, so conv1 is 55x55x96.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc import zoo
from cnncalc.commands.draw import command as draw_command
from cnncalc.commands.plot import command as plot_command
from cnncalc.render.draw import (
    Drawing,
    draw,
    plot_costs,
    render_html_table,
    render_pdf,
    render_png,
    render_svg,
    render_tikz,
)

SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-name"): g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


def edges(root: ET.Element) -> list[tuple[str, str]]:
    return [(g.get("data-from"), g.get("data-to")) for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]


def texts(group: ET.Element, cls: str) -> list[str]:
    return [t.text or "" for t in group.iter(f"{SVG}text") if t.get("class") == cls]


def check_labels(model: cnncalc.api.Model, root: ET.Element) -> None:
    """Every layer is in exactly one box; every box shows the report's shape of each layer it holds."""
    found = nodes(root)
    owner = {}
    for name, g in found.items():
        for layer in g.get("data-layers").split():
            assert layer not in owner, f"{layer} drawn twice"
            owner[layer] = name
    assert set(owner) == {x.name for x in model.layers}
    for layer in model.layers:
        g = found[owner[layer.name]]
        assert texts(g, "shape") == [layer.output.text()], layer.name
        assert g.get("data-shape") == layer.output.text()


@pytest.mark.parametrize("name", ["alexnet_caffe", "posenet", "vgg16", "resnet18", "googlenet", "lenet5_1998"])
def test_svg_well_formed_with_every_layer_labelled(name: str) -> None:
    model = cnncalc.load(name)
    root = parse(render_svg(model))
    assert root.tag == f"{SVG}svg"
    assert float(root.get("width")) > 0 and float(root.get("height")) > 0
    check_labels(model, root)
    # Every spatial layer's shape text is on the page.
    on_page = {t.text for t in root.iter(f"{SVG}text")}
    assert {x.output.text() for x in model.layers if x.output.spatial} <= on_page


def test_alexnet_shapes_and_kernels_by_hand() -> None:
    model = cnncalc.load("alexnet_caffe")
    found = nodes(parse(render_svg(model)))
    conv1 = (227 - 11) // 4 + 1  # 55
    pool1 = (conv1 - 3) // 2 + 1  # 27
    conv2 = (pool1 + 2 * 2 - 5) // 1 + 1  # 27
    pool2 = (conv2 - 3) // 2 + 1  # 13
    assert (conv1, pool1, conv2, pool2) == (55, 27, 27, 13)
    assert texts(found["conv1"], "shape") == [f"{conv1}x{conv1}x96"] == ["55x55x96"]
    assert texts(found["conv1"], "op") == ["conv 11x11/4"]
    assert texts(found["conv1"], "fold") == ["+relu"]  # relu1 folded into conv1's box
    assert found["conv1"].get("data-layers") == "conv1 relu1"
    assert texts(found["pool1"], "shape") == [f"{pool1}x{pool1}x96"]
    assert texts(found["pool1"], "op") == ["max 3x3/2"]
    assert texts(found["pool1"], "fold") == ["+lrn"]
    assert texts(found["conv2"], "shape") == [f"{conv2}x{conv2}x256"]
    assert texts(found["conv2"], "op") == ["conv 5x5/1 g2"]  # the two towers of the paper
    assert texts(found["pool2"], "shape") == [f"{pool2}x{pool2}x256"]
    # The classifier: fc bars with the vector length, 6*6*256 = 9216 into fc6.
    assert texts(found["fc6"], "shape") == ["4096"]
    assert texts(found["flatten1"], "shape") == [str(6 * 6 * 256)]


def test_posenet_three_heads_branch_from_flat() -> None:
    model = cnncalc.load("posenet")
    root = parse(render_svg(model))
    found = nodes(root)
    links = edges(root)
    assert sorted(dst for src, dst in links if src == "flat") == ["jd1", "jr1", "pd1"]
    following = dict(links)  # each head is a chain after flat
    for first, last in (("pd1", "pd"), ("jd1", "jd"), ("jr1", "jr")):
        assert following[first] == first[:2] + "2" and following[first[:2] + "2"] == last
        assert found[last].get("data-layers") == last  # the output layers have no relu
    rows = {found[h].get("data-row") for h in ("pd1", "jd1", "jr1")}
    assert len(rows) == 3  # one row per head
    assert texts(found["flat"], "shape") == [str(10 * 10 * 32)]  # 3200
    assert texts(found["pd"], "shape") == [str(7 * 8 * 8)]  # 448, part detection 7@8x8


def test_merges_drawn_as_graph() -> None:
    resnet = parse(render_svg(cnncalc.load("resnet18")))
    into = {}
    for src, dst in edges(resnet):
        into.setdefault(dst, []).append(src)
    adds = [n for n, g in nodes(resnet).items() if g.get("data-op") == "add"]
    assert len(adds) == 8  # two basic blocks in each of four stages
    assert all(len(into[a]) == 2 for a in adds)
    assert sorted(into["layer2.0.add"]) == ["layer2.0.conv2", "layer2.0.downsample.0"]
    assert sorted(into["layer1.0.add"]) == ["layer1.0.conv2", "maxpool"]  # the identity skip
    googlenet = parse(render_svg(cnncalc.load("googlenet")))
    into = {}
    for src, dst in edges(googlenet):
        into.setdefault(dst, []).append(src)
    assert len(into["inception3a.cat"]) == 4
    dense = parse(render_svg(cnncalc.load("densenet121")))
    into = {}
    for src, dst in edges(dense):
        into.setdefault(dst, []).append(src)
    assert len(into["denseblock1.denselayer6.cat"]) == 6  # pool0 and the five layers before it


def test_every_zoo_model_draws() -> None:
    # How fast is measured in bench/bench_scaling.py, not here: a timed test fails on a busy machine.
    for name in zoo.names():
        model = cnncalc.load(name)
        svg = render_svg(model)
        root = parse(svg)
        check_labels(model, root)
        drawn = set(nodes(root))
        assert all(src in drawn and dst in drawn for src, dst in edges(root))


def test_options_and_input_change_the_drawing() -> None:
    aux = nodes(parse(render_svg(cnncalc.load("googlenet", options={"aux": True}))))
    assert any(g.get("data-aux") == "true" for g in aux.values())
    small = nodes(parse(render_svg(cnncalc.load("vgg16", input="32x32x3"))))
    assert texts(small["conv1_1"], "shape") == ["32x32x64"]
    assert texts(small["pool5"], "shape") == ["1x1x512"]  # 32 / 2**5


def test_several_inputs_and_a_lone_input() -> None:
    spec = "img: input 64x64x3\ndepth: input 64x64x1\nc1: conv 8 k=3 from=img\nc2: conv 8 k=3 from=depth\n"
    spec += "both: concat from=c1,c2\n"
    root = parse(render_svg(cnncalc.load(spec)))
    found = nodes(root)
    assert texts(found["img"], "op") == ["img"] and texts(found["depth"], "op") == ["depth"]
    assert sorted(edges(root)) == [("c1", "both"), ("c2", "both"), ("depth", "c2"), ("img", "c1")]
    lone = parse(render_svg(cnncalc.load("input 32x32x3\n")))
    assert list(nodes(lone)) == ["input"] and edges(lone) == []


def test_tikz_document_structure() -> None:
    tex = render_tikz(cnncalc.load("alexnet_caffe"))
    assert "\\documentclass{article}" in tex and "\\usepackage{tikz}" in tex
    assert tex.index("\\begin{document}") < tex.index("\\begin{tikzpicture}") < tex.index("\\end{tikzpicture}")
    assert tex.rstrip().endswith("\\end{document}")
    assert "{55x55x96}" in tex and "{conv 11x11/4}" in tex and "{+relu}" in tex
    assert "alexnet\\_caffe" in tex  # escaped
    assert tex.count("{") == tex.count("}")


def _has_tikz() -> bool:
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        return False
    found = subprocess.run(["kpsewhich", "tikz.sty"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


@pytest.mark.skipif(not _has_tikz(), reason="pdflatex with tikz.sty (Debian: texlive-pictures) is not installed")
@pytest.mark.parametrize("name", ["alexnet_caffe", "resnet18"])
def test_tikz_compiles(tmp_path: Path, name: str) -> None:
    (tmp_path / "net.tex").write_text(render_tikz(cnncalc.load(name)), encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "net.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "net.pdf").read_bytes()[:5] == b"%PDF-"
    assert "(1 page" in (tmp_path / "net.log").read_text(errors="replace")


def test_png_and_pdf(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    model = cnncalc.load("posenet")
    render_png(model, tmp_path / "net.png")
    render_pdf(model, tmp_path / "net.pdf")
    png = (tmp_path / "net.png").read_bytes()
    assert png[:8] == PNG_MAGIC and len(png) > 10_000
    pdf = (tmp_path / "net.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-" and len(pdf) > 5_000


def test_plot_costs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot_costs(cnncalc.load("resnet18"), tmp_path / "costs.png")
    assert (tmp_path / "costs.png").read_bytes()[:8] == PNG_MAGIC
    plot_costs(cnncalc.load("alexnet_caffe"), tmp_path / "costs.svg")
    parse((tmp_path / "costs.svg").read_text())
    with pytest.raises(cnncalc.errors.CnnCalcError, match=r"\.png, \.pdf or \.svg"):
        plot_costs(cnncalc.load("alexnet_caffe"), tmp_path / "costs.txt")


def test_html_table_escapes_and_totals() -> None:
    b = cnncalc.Builder("t<&>")
    b.input("8x8x3")
    b.add("conv", 4, k=3, name="a<b")
    model = cnncalc.load(b.build())
    page = render_html_table(model)
    assert "a&lt;b" in page and "a<b" not in page and "t&lt;&amp;&gt;" in page
    params = 3 * 3 * 3 * 4 + 4  # 112
    macs = 6 * 6 * 4 * 3 * 3 * 3  # 3,888
    assert model.totals.params == params and model.totals.macs == macs
    assert f">{params:,}</td><td" in page and f">{macs:,}</td>" in page
    assert page.count("<tr") == 1 + 2 + 1  # head, two layers, total


def test_drawing_for_jupyter(tmp_path: Path) -> None:
    model = cnncalc.load("lenet5")
    shown = draw(model)
    assert isinstance(shown, Drawing) and shown._repr_svg_() == render_svg(model)
    draw(model, tmp_path / "net.svg")
    parse((tmp_path / "net.svg").read_text())
    with pytest.raises(cnncalc.errors.CnnCalcError, match="which format"):
        draw(model, tmp_path / "net.gif")


# The commands, run in-process (they are registered in cnncalc.commands.NAMES; tested here on their own).


def invoke(command, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(command, list(args), input=input)


def test_draw_command_stdout_and_files(tmp_path: Path) -> None:
    svg = invoke(draw_command, "alexnet_caffe")
    assert svg.exit_code == 0
    assert "55x55x96" in texts(parse(svg.stdout).find(f".//{SVG}g[@data-name='conv1']"), "shape")
    tex = invoke(draw_command, "alexnet_caffe", "--format", "tikz")
    assert tex.exit_code == 0 and "\\begin{tikzpicture}" in tex.stdout
    stdin = invoke(draw_command, "-", input="input 32x32x3\nconv 8 k=5\n")
    assert stdin.exit_code == 0 and "28x28x8" in stdin.stdout
    out = tmp_path / "g.svg"
    assert invoke(draw_command, "googlenet", "aux=true", "-o", str(out)).exit_code == 0
    assert 'data-aux="true"' in out.read_text()
    small = invoke(draw_command, "vgg16", "--input", "32x32x3")
    assert "1x1x512" in small.stdout
    assert invoke(draw_command, "resnet18", "-o", str(tmp_path / "r.tex")).exit_code == 0
    assert (tmp_path / "r.tex").read_text().startswith("% The block diagram of resnet18")


def test_draw_command_png_pdf(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    assert invoke(draw_command, "resnet18", "-o", str(tmp_path / "r.png")).exit_code == 0
    assert (tmp_path / "r.png").read_bytes()[:8] == PNG_MAGIC
    assert invoke(draw_command, "resnet18", "-o", str(tmp_path / "r.out"), "--format", "pdf").exit_code == 0
    assert (tmp_path / "r.out").read_bytes()[:5] == b"%PDF-"
    plot = invoke(plot_command, "posenet", "-o", str(tmp_path / "p.png"))
    assert plot.exit_code == 0 and (tmp_path / "p.png").read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("alexnet_caffe", "--format", "png"), "--format png writes a file: add -o FILE.png"),
        (("alexnet_caffe", "-o", "x.gif"), "x.gif: say which format"),
        (("nosuch_net",), "no zoo model named 'nosuch_net'"),
        (("vgg16", "--input", "3x3x3"), "kernel 2 is larger than its 1x1 input"),
        (("alexnet_caffe", "-o", "/nonexistent/dir/x.svg"), "/nonexistent/dir/x.svg: cannot write it"),
        (("googlenet", "aux"), "'aux': zoo options are written key=value"),
    ],
)
def test_draw_command_errors(args: tuple[str, ...], message: str) -> None:
    result = invoke(draw_command, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_without_matplotlib(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    for command, args in ((draw_command, ("posenet", "-o", str(tmp_path / "p.png"))),
                          (draw_command, ("posenet", "-o", str(tmp_path / "p.pdf"))),
                          (plot_command, ("posenet", "-o", str(tmp_path / "c.png")))):  # fmt: skip
        result = invoke(command, *args)
        assert result.exit_code == 2
        assert "pip install 'cnncalc[draw]'" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert invoke(draw_command, "posenet").exit_code == 0  # SVG needs nothing


def test_draw_needs_no_matplotlib_at_import() -> None:
    code = (
        "import sys, cnncalc.render.draw, cnncalc.commands.draw, cnncalc.commands.plot; "
        "print('matplotlib' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


def test_registered_commands_through_the_cli(tmp_path: Path) -> None:
    from cnncalc.commands import NAMES

    if "draw" not in NAMES or "plot" not in NAMES:
        pytest.skip("draw and plot are not yet in cnncalc.commands.NAMES")
    from conftest import run_cli

    result = run_cli("draw", "posenet")
    assert result.returncode == 0 and 'data-from="flat"' in result.stdout
    result = run_cli("draw", "posenet", "--format", "png")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_the_names_the_user_wrote_appear() -> None:
    # A spec with written names (pd1, jd1, stem) and automatic ones (conv1, relu1): the written ones label their boxes.
    spec = (
        "input 32x32x3\nstem: conv 8 k=3 p=1\nconv 8 k=3 p=1\nrelu\nflat: flatten\nhead_a: fc 10\n"
        "head_b: fc 4 from=flat\n"
    )
    root = parse(render_svg(cnncalc.load(spec)))
    names = {t.text for t in root.iter(f"{SVG}text") if t.get("class") == "name"}
    assert {"stem", "flat", "head_a", "head_b"} <= names
    assert "conv1" not in names and "relu1" not in names  # an automatic name would only repeat the op
    pose = parse(render_svg(cnncalc.load("posenet")))
    assert {"pd1", "jd1", "jr1"} <= {t.text for t in pose.iter(f"{SVG}text") if t.get("class") == "name"}


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_MAGIC
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_png_dpi(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    runner = CliRunner()
    sizes = {}
    for dpi in (96, 288):
        out = tmp_path / f"p{dpi}.png"
        result = runner.invoke(draw_command, ["posenet", "-o", str(out), "--dpi", str(dpi)])
        assert result.exit_code == 0, result.output
        sizes[dpi] = _png_size(out)
    # 96 dpi is the SVG's own size (one pixel a unit); 288 is three times as wide and high, within a pixel.
    svg = parse(render_svg(cnncalc.load("posenet")))
    assert abs(sizes[96][0] - float(svg.get("width", "0").removesuffix("px"))) <= 1
    assert abs(sizes[288][0] - 3 * sizes[96][0]) <= 3 and abs(sizes[288][1] - 3 * sizes[96][1]) <= 3
    bad = runner.invoke(draw_command, ["posenet", "-o", str(tmp_path / "x.svg"), "--dpi", "300"])
    assert bad.exit_code == 2 and "PNG" in bad.output
    tiny = runner.invoke(draw_command, ["posenet", "-o", str(tmp_path / "x.png"), "--dpi", "5"])
    assert tiny.exit_code == 2 and "10 to 2400" in tiny.output
