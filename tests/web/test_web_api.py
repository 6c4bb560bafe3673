"""The web API in-process (Starlette's TestClient): every endpoint and every refusal, and the same figures as the CLI.

Expected figures come from outside cnncalc (torchvision's parameter counts, the seed homework, hand arithmetic
written out) or are the `cnncalc` command's own output for the same request: the API must not differ from it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

from click.testing import CliRunner
from starlette.testclient import TestClient

from cnncalc import zoo
from cnncalc.cli import main
from cnncalc.web import app as web

TESTS = Path(__file__).parent.parent
POSENET = TESTS / "data" / "valid" / "posenet.cnn"
SMALL = "input 32x32x3\nconv1: conv 16 k=3\nrelu\npool1: maxpool k=2\nflatten\nfc 10\n"
VGG16_PARAMS = 138_357_544  # torchvision's vgg16 num_params
VGG16_WEIGHTS = 138_344_128  # the same without the 13 conv and 3 fc biases: 138,357,544 - 13,416


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(web.app)


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def report(client: TestClient, **body: object) -> dict:
    res = client.post("/api/report", json=body)
    assert res.status_code == 200, res.text
    return res.json()


# ----------------------------------------------------------------------------- the page and its files


def test_the_page_and_its_files_are_served_with_no_outside_url(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css"), ("favicon.svg", "image/svg+xml")):
        res = client.get(f"/static/{name}")
        assert res.status_code == 200 and kind in res.headers["content-type"], name
    for path in web.STATIC.iterdir():  # no CDN: everything the page needs comes from this server
        text = path.read_text(encoding="utf-8")
        assert "https://" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path


def test_info_says_what_this_server_can_do(client: TestClient) -> None:
    info = client.get("/api/info").json()
    assert info["max_body"] == 256 * 1024 and info["max_layers"] == 20_000
    assert {"json", "csv", "md", "latex", "spec"} <= set(info["exports"])


# ----------------------------------------------------------------------------- POST /api/report


@pytest.mark.parametrize(
    ("body", "args"),
    [
        ({"zoo": "vgg16"}, ["vgg16"]),
        ({"zoo": "resnet18", "layout": "chw"}, ["resnet18", "--layout", "chw"]),
        ({"zoo": "googlenet", "options": {"aux": True}}, ["googlenet", "aux=true"]),
        ({"zoo": "alexnet_caffe", "bias": False, "input": "300x300x3"}, ["alexnet_caffe", "--no-bias", "--input",
                                                                          "300x300x3"]),
    ],
)  # fmt: skip
def test_report_of_a_zoo_model_is_the_cli_json(client: TestClient, body: dict, args: list[str]) -> None:
    assert report(client, **body) == json.loads(cli("show", *args, "--format", "json"))


def test_report_of_spec_text_is_the_cli_json_of_the_same_file(client: TestClient, tmp_path: Path) -> None:
    for text, name, extra in (
        (POSENET.read_text(encoding="utf-8"), "posenet", []),
        (SMALL, "small", ["--strict"]),
        (SMALL, "small", ["--layout", "chw", "--input", "3x64x64"]),  # --layout chw reads --input channels first
    ):
        path = tmp_path / f"{name}.cnn"
        path.write_text(text, encoding="utf-8")
        body = {"spec": text, "name": name, "strict": "--strict" in extra}
        if "--layout" in extra:
            body |= {"layout": "chw", "input": "3x64x64"}
        assert report(client, **body) == json.loads(cli("show", str(path), *extra, "--format", "json")), extra


def test_vgg16_has_torchvisions_parameter_count(client: TestClient) -> None:
    assert report(client, zoo="vgg16")["totals"]["params"] == VGG16_PARAMS
    assert report(client, zoo="vgg16", bias=False)["totals"]["params"] == VGG16_WEIGHTS


def test_report_with_steps_adds_the_worked_arithmetic_and_spec_lines(client: TestClient) -> None:
    data = report(client, spec=SMALL, steps=True)
    plain = {k: v for k, v in data.items() if k not in ("worked", "lines")}
    assert plain == report(client, spec=SMALL)
    conv1 = data["worked"]["layers"]["conv1"]
    assert conv1[0] == "conv1 (conv)"
    assert "  weights: 3×3×3×16 = 432" in conv1  # K·K·C_in·C_out
    assert "  params: 432 + 16 = 448" in conv1
    assert "  MACs: 30×30×16×3×3×3 = 388,800" in conv1  # 30 = 32 - 3 + 1
    assert data["worked"]["layers"]["relu1"] == ["relu1 (relu): 30x30x16; no parameters"]
    assert data["lines"] == {"input": 1, "conv1": 2, "relu1": 3, "pool1": 4, "flatten1": 5, "fc1": 6}
    assert any(line.startswith("params = weights + biases") for line in data["worked"]["totals"])


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("spec", "line", "layer", "phrase"),
    [
        ("input 32x32x3\nconv 16 k=3\nfoo 3\n", 3, None, "unknown op 'foo'"),
        ("input 32x32x3\nconv 16 k=3\nconv 8 k=99\n", 3, "conv2", "kernel 99 is larger than its 30x30 input"),
        ("input 32x32x3\na: conv 16 k=3\na: relu\n", 3, "a", "already taken"),
        ("input 32x32x3\nconv 16 k=3 zz=2\n", 2, "conv1", "unknown key 'zz'"),
        ("# nothing\n", None, None, "the spec is empty"),
    ],
)
def test_a_bad_spec_is_400_with_its_line_and_layer(
    client: TestClient, spec: str, line: int | None, layer: str | None, phrase: str
) -> None:
    for path in ("/api/report", "/api/check", "/api/draw", "/api/export/json"):
        res = client.post(path, json={"spec": spec})
        assert res.status_code == 400, (path, res.text)
        body = res.json()
        assert body["line"] == line and body["layer"] == layer and phrase in body["error"], (path, body)


def test_strict_makes_an_inexact_size_an_error_at_its_line(client: TestClient) -> None:
    spec = "input 32x32x3\nconv 16 k=3 s=2\n"  # (32 - 3)/2 + 1 = 15.5
    assert client.post("/api/report", json={"spec": spec}).status_code == 200
    res = client.post("/api/report", json={"spec": spec, "strict": True})
    assert res.status_code == 400 and res.json()["line"] == 2 and "15.50 is not a whole number" in res.json()["error"]


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ({}, "give either spec"),
        ({"spec": SMALL, "zoo": "vgg16"}, "give either spec"),
        ({"zoo": "vgg61"}, "did you mean vgg19 or vgg16"),
        ({"spec": SMALL, "bogus": 1}, "unknown field 'bogus'"),
        ({"spec": 42}, "spec must be a string"),
        ({"spec": SMALL, "bias": "no"}, "bias must be true or false"),
        ({"spec": SMALL, "layout": "nhwc"}, "use hwc or chw"),
        ({"spec": SMALL, "input": "32x32"}, "--input 32x32"),
        ({"spec": SMALL, "options": {"aux": True}}, "apply to zoo models only"),
        ({"zoo": "googlenet", "options": {"aux": [1]}}, "options are key: value pairs"),
        ({"zoo": "googlenet", "options": {"auxx": True}}, "unknown option 'auxx'"),
        ({"spec": SMALL, "name": "a\nb"}, "printable"),
    ],
)
def test_a_bad_request_is_400_with_a_message(client: TestClient, body: dict, phrase: str) -> None:
    res = client.post("/api/report", json=body)
    assert res.status_code == 400 and phrase in res.json()["error"], res.text


def test_malformed_json_is_400_and_other_content_is_415(client: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    for body in (b"{spec: 1}", b'{"spec": "input 8x8x3"', b"\xff\xfe", b""):
        res = client.post("/api/report", content=body, headers=headers)
        assert res.status_code == 400 and "not valid JSON" in res.json()["error"], body
    res = client.post("/api/report", content=b"[" * 200_000, headers=headers)
    assert res.status_code == 400 and "nested too deeply" in res.json()["error"]
    res = client.post("/api/report", content=b'["input 8x8x3"]', headers=headers)
    assert res.status_code == 400 and "JSON object" in res.json()["error"]
    res = client.post("/api/report", content=b'{"spec": "input 8x8x3"}', headers={"Content-Type": "text/plain"})
    assert res.status_code == 415  # a page elsewhere cannot post here without a CORS preflight


def test_a_body_over_256_kib_is_413_with_or_without_its_length(client: TestClient) -> None:
    big = json.dumps({"spec": "# " + "x" * (256 * 1024) + "\ninput 8x8x3\n"}).encode()
    res = client.post("/api/report", content=big, headers={"Content-Type": "application/json"})
    assert res.status_code == 413 and "256 KiB" in res.json()["error"]

    def chunks():  # no Content-Length: the server counts as it reads
        for i in range(0, len(big), 16 * 1024):
            yield big[i : i + 16 * 1024]

    res = client.post("/api/report", content=chunks(), headers={"Content-Type": "application/json"})
    assert res.status_code == 413
    just = json.dumps({"spec": "input 8x8x3\n" + "#" * (256 * 1024 - 40)}).encode()
    assert len(just) <= 256 * 1024
    assert client.post("/api/report", content=just, headers={"Content-Type": "application/json"}).status_code == 200


def test_a_spec_over_20000_layers_is_refused_before_parsing(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed a spec over the limit")

    over = "input 8x8x3\n" + "relu\n" * 20_000 + "# comments and blank lines do not count\n\n"
    monkeypatch.setattr(web, "parse_spec", no_parse)
    res = client.post("/api/report", json={"spec": over})
    assert res.status_code == 413
    assert res.json()["error"].startswith("the spec has 20,001 layers; the web page takes at most 20,000")
    monkeypatch.undo()
    at_limit = "set bias=false\ninput 8x8x3\n" + "relu\n" * 19_999  # a `set` line is not a layer
    data = report(client, spec=at_limit)
    assert len(data["layers"]) == 20_000


def test_nothing_sent_is_run_as_code_or_read_as_a_path(client: TestClient, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    module = tmp_path / "evil.py"
    module.write_text(f"open({str(marker)!r}, 'w').write('imported')\nimport torch.nn as nn\nNet = nn.Identity\n")
    spec_file = tmp_path / "real.cnn"
    spec_file.write_text(SMALL, encoding="utf-8")
    attempts = [
        {"spec": f"{module}:Net"},  # cnncalc.load would import this file
        {"spec": f"{module}:Net", "input": "32x32x3"},
        {"spec": str(spec_file)},  # cnncalc.load would read this file
        {"spec": "/etc/passwd"},
        {"zoo": f"{module}:Net"},
        {"zoo": str(spec_file)},
        {"spec": f"input 8x8x3\nx: add from=/etc/passwd,{module}\n"},
    ]
    for body in attempts:
        for path in ("/api/report", "/api/check", "/api/draw", "/api/export/spec"):
            res = client.post(path, json=body)
            assert res.status_code == 400, (path, body, res.text)
    res = client.post("/api/draw", json={"spec": f"{module}:Net", "input": "32x32x3"})
    assert res.status_code == 400
    assert not marker.exists()
    assert "evil" not in sys.modules


def test_unknown_paths_and_methods_answer_json(client: TestClient) -> None:
    res = client.get("/api/nothing")
    assert res.status_code == 404 and "error" in res.json()
    res = client.get("/api/report")
    assert res.status_code == 405 and "error" in res.json()


# ----------------------------------------------------------------------------- POST /api/check


def test_check_a_total_wrong_by_the_biases(client: TestClient) -> None:
    res = client.post("/api/check", json={"zoo": "vgg16", "total": "138,344,128"})
    assert res.status_code == 200
    data = res.json()
    assert data == json.loads(cli("check", "vgg16", "--total", "138,344,128", "--format", "json"))
    verdict = data["verdicts"][0]
    assert not data["ok"] and verdict["correct"] == VGG16_PARAMS
    assert verdict["diagnoses"][0]["mistake"] == "no_bias"
    right = client.post("/api/check", json={"zoo": "vgg16", "total": VGG16_WEIGHTS, "no_bias": True}).json()
    assert right["ok"] and right["convention"].startswith("params without the biases")
    weights = client.post("/api/check", json={"zoo": "vgg16", "total": VGG16_WEIGHTS, "of": "weights"}).json()
    assert weights["ok"] and weights["convention"] == "weights only, no biases"


def test_check_a_table_is_the_cli_verdict(client: TestClient, tmp_path: Path) -> None:
    # The README's example: AlexNet (Caffe, two towers) conv1 = 11·11·3·96 + 96 = 34,944 params.
    table = 'layer,output_shape,params\nconv1,55x55x96,"11,712"\nconv2,27x27x256,614656\nconv3,12x12x384,885120\n'
    path = tmp_path / "answers.csv"
    path.write_text(table, encoding="utf-8")
    data = client.post("/api/check", json={"zoo": "alexnet_caffe", "answers_csv": table}).json()
    assert data == json.loads(cli("check", "alexnet_caffe", "--answers", str(path), "--format", "json"))
    cells = {(v["layer"], v["field"]): v for v in data["verdicts"]}
    assert cells["conv1", "params"]["correct"] == 11 * 11 * 3 * 96 + 96
    assert cells["conv1", "params"]["diagnoses"][0]["mistake"] == "one_input_channel"
    assert cells["conv3", "output_shape"]["correct"] == "13x13x384"


def test_check_of_spec_text_and_with_nothing_to_check(client: TestClient) -> None:
    data = client.post("/api/check", json={"spec": SMALL, "total": 448 + 30}).json()
    assert not data["ok"] and data["verdicts"][0]["correct"] == (3 * 3 * 3 * 16 + 16) + (15 * 15 * 16 * 10 + 10)
    valid = client.post("/api/check", json={"spec": SMALL, "total": " ", "answers_csv": ""}).json()
    assert valid == {"ok": True, "message": "ok, 6 layers", "verdicts": [], "skipped": []}


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ({"zoo": "vgg16", "total": "lots"}, "is not a whole number"),
        ({"zoo": "vgg16", "total": 5, "of": "bytes"}, "of='bytes'"),
        ({"zoo": "vgg16", "total": True}, "total must be a string or a number"),
        ({"zoo": "vgg16", "answers_csv": "layer,params\nnope,12\n"}, "no answer could be read"),
        ({"zoo": "vgg16", "answers_csv": "name,params\nconv1_1,12\n"}, "no `layer` column"),
        ({"zoo": "vgg16", "total": 5, "bias": False}, "unknown field 'bias'"),
    ],
)
def test_check_refusals(client: TestClient, body: dict, phrase: str) -> None:
    res = client.post("/api/check", json=body)
    assert res.status_code == 400 and phrase in res.json()["error"], res.text


def test_check_refuses_a_network_too_large_to_diagnose_in_time(client: TestClient) -> None:
    spec = "input 8x8x3\n" + "conv 3 k=1\n" * 2_000
    res = client.post("/api/check", json={"spec": spec, "total": 5})
    assert res.status_code == 413 and "up to 2,000 layers" in res.json()["error"]


# ----------------------------------------------------------------------------- the zoo


def test_zoo_lists_every_model_with_the_cli_figures(client: TestClient) -> None:
    listed = client.get("/api/zoo").json()
    assert [m["name"] for m in listed] == zoo.names()
    by_cli = {m["name"]: m for m in json.loads(cli("zoo", "--format", "json"))}
    for m in listed:
        want = by_cli[m["name"]]
        assert (m["params"], m["macs"], m["buffers"], m["input"], m["summary"]) == (
            want["params"], want["macs"], want["buffers"], want["input"], want["summary"]
        ), m["name"]  # fmt: skip
    vgg = next(m for m in listed if m["name"] == "vgg16")
    assert vgg["params"] == VGG16_PARAMS and vgg["input"] == "224x224x3"
    assert next(m for m in listed if m["name"] == "googlenet")["options"] == {"aux": False}


def test_zoo_model_gives_its_spec_text_and_report(client: TestClient) -> None:
    data = client.get("/api/zoo/vgg16").json()
    assert data["report"] == json.loads(cli("show", "vgg16", "--format", "json"))
    assert data["spec"] == cli("show", "vgg16", "--format", "spec")
    again = report(client, spec=data["spec"], name="vgg16")
    assert again["totals"] == data["report"]["totals"]
    aux = client.get("/api/zoo/googlenet", params={"aux": "true"}).json()
    assert aux["report"]["totals"] == json.loads(cli("show", "googlenet", "aux=true", "--format", "json"))["totals"]
    res = client.get("/api/zoo/vgg61")
    assert res.status_code == 404 and "did you mean vgg19 or vgg16" in res.json()["error"]
    assert client.get("/api/zoo/googlenet", params={"aux": "maybe"}).status_code == 400


# ----------------------------------------------------------------------------- the diagram


def test_draw_gives_the_svg_of_render_svg(client: TestClient) -> None:
    import cnncalc
    from cnncalc.render.draw import render_svg  # being written beside this page: an ImportError until it exists
    from cnncalc.spec import parse_spec

    res = client.post("/api/draw", json={"zoo": "vgg16"})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("image/svg+xml")
    assert res.headers["content-security-policy"].startswith("default-src 'none'")
    assert res.text == render_svg(cnncalc.load("vgg16"))
    posted = client.post("/api/draw", json={"spec": SMALL, "name": "small"})
    assert posted.status_code == 200 and posted.text == render_svg(cnncalc.load(parse_spec(SMALL, name="small")))
    got = client.post("/api/draw", json={"spec": SMALL, "bias": False})
    assert got.status_code == 200 and "<svg" in got.text
    assert client.post("/api/draw", json={"zoo": "vgg16", "bias": "perhaps"}).status_code == 400
    bad = client.post("/api/draw", json={"spec": "input 8x8x3\nconv 4 k=9\n"})
    assert bad.status_code == 400 and bad.json()["line"] == 2
    # A GET that does work could be sent by an <img src> on any page: there is none.
    assert client.get("/api/draw", params={"zoo": "vgg16"}).status_code == 405


def test_draw_refuses_a_network_too_large_to_draw_in_time(client: TestClient) -> None:
    res = client.post("/api/draw", json={"spec": "input 8x8x3\n" + "relu\n" * 2_000})
    assert res.status_code == 413 and "up to 2,000 layers" in res.json()["error"]


# ----------------------------------------------------------------------------- downloads


@pytest.mark.parametrize(
    ("fmt", "args", "filename"),
    [
        ("json", ["show", "posenet", "--no-bias", "--format", "json"], "posenet.json"),
        ("csv", ["show", "posenet", "--no-bias", "--format", "csv"], "posenet.csv"),
        ("md", ["show", "posenet", "--no-bias", "--format", "md"], "posenet.md"),
        ("latex", ["show", "posenet", "--no-bias", "--format", "latex"], "posenet.tex"),
        ("spec", ["show", "posenet", "--no-bias", "--format", "spec"], "posenet.cnn"),
    ],
)
def test_export_is_the_cli_output(client: TestClient, fmt: str, args: list[str], filename: str) -> None:
    res = client.post(f"/api/export/{fmt}", json={"zoo": "posenet", "bias": False})
    assert res.status_code == 200, res.text
    assert res.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert res.text == cli(*args)


def test_export_torch_is_the_cli_export_or_501_without_torch(client: TestClient, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if web.has_torch():
        path = tmp_path / "small.cnn"
        path.write_text(SMALL, encoding="utf-8")
        res = client.post("/api/export/torch", json={"spec": SMALL, "name": "small"})
        assert res.status_code == 200 and res.headers["content-disposition"].endswith('filename="small.py"')
        assert res.text == cli("export", str(path))
    monkeypatch.setattr(web, "has_torch", lambda: False)
    res = client.post("/api/export/torch", json={"spec": SMALL})
    assert res.status_code == 501 and "cnncalc[torch]" in res.json()["error"]
    assert "torch" not in client.get("/api/info").json()["exports"]


def test_export_of_an_unknown_format_is_404(client: TestClient) -> None:
    res = client.post("/api/export/pdf", json={"spec": SMALL})
    assert res.status_code == 404 and "json, csv, md, latex, spec, torch" in res.json()["error"]


# ----------------------------------------------------------------------------- `cnncalc serve`


def test_serve_without_the_web_extra_says_how_to_install_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from cnncalc.commands.serve import command

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` now raises ImportError
    result = CliRunner().invoke(command, [])
    assert result.exit_code == 2
    assert "pip install 'cnncalc[web]'" in result.stderr


def test_serve_binds_the_port_and_refuses_one_in_use(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import socket

    import uvicorn

    from cnncalc.commands.serve import command

    served = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: served.append(sockets[0].getsockname()))
    result = CliRunner().invoke(command, ["--port", "0"])
    assert result.exit_code == 0, result.output
    assert served and served[0][0] == "127.0.0.1" and f"http://127.0.0.1:{served[0][1]}/" in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = CliRunner().invoke(command, ["--port", str(taken.getsockname()[1])])
    assert result.exit_code == 2 and "cannot listen on 127.0.0.1" in result.stderr


# ----------------------------------------------------------------------------- training memory


@pytest.mark.parametrize(
    ("body", "args"),
    [
        ({"zoo": "resnet18", "batch": 32, "optimizer": "adam"}, ["--batch", "32", "--optimizer", "adam"]),
        ({"zoo": "mobilenet_v2", "amp": "bf16", "fit": "24GiB"}, ["--amp", "bf16", "--fit", "24GiB"]),
        ({"zoo": "resnet50", "checkpoint": "stage", "batch": 8}, ["--checkpoint", "stage", "--batch", "8"]),
        ({"zoo": "vgg16"}, []),
    ],
)
def test_memory_is_the_cli_json(client: TestClient, body: dict, args: list[str]) -> None:
    res = client.post("/api/memory", json=body)
    assert res.status_code == 200, res.text
    assert res.json() == json.loads(cli("memory", body["zoo"], *args, "--format", "json"))


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ({"zoo": "resnet18", "batch": 0}, "batch must be 1"),
        ({"zoo": "resnet18", "amp": "fp8"}, "amp must be one of fp16, bf16"),
        ({"zoo": "resnet18", "optimizer": "lion"}, "optimizer must be one of"),
        ({"zoo": "resnet18", "checkpoint": "often"}, "--checkpoint often"),
        ({"zoo": "resnet18", "dtype": "int8", "training": True}, "int8 is an inference format"),
        ({"spec": "input 8x8x1\nconv 4 k=9\n"}, "kernel 9"),
    ],
)
def test_bad_memory_requests_are_400(client: TestClient, body: dict, phrase: str) -> None:
    res = client.post("/api/memory", json=body)
    assert res.status_code == 400 and phrase in res.json()["error"], res.text
