"""Bad specs in data/invalid: each gives a CnnCalcError of one line, `FILE:LINE: LAYER: what is wrong`.

The table below says, for each file, the line and layer the message must name and the phrases it must
contain (each entry a tuple of acceptable spellings, matched case-insensitively). The wording beyond
that is cnncalc's to choose.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import cnncalc
from conftest import CLI

INVALID = Path(__file__).parent / "data" / "invalid"

LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<layer>[^:\s]+): (?P<what>.+)$")

# file, line, layer (or a set of acceptable layers), required phrases
CASES = [
    ("unknown_op.cnn", 4, "pool1", [("maxpul",), ("unknown", "no op", "not an op", "no such op")]),
    ("unknown_key.cnn", 3, "conv1", [("stride",), ("unknown", "no key", "not a key")]),
    ("unnamed_layer_bad_key.cnn", 4, "conv2", [("pad",), ("unknown", "no key", "not a key")]),
    ("conv_without_k.cnn", 4, "conv2", [("k=", "kernel")]),
    ("conv_without_channels.cnn", 3, "conv1", [("channel",)]),
    ("non_numeric.cnn", 3, "conv1", [("abc",)]),
    ("kernel_too_big.cnn", 4, "conv2", [("5",), ("3",), ("larger", "bigger", "exceeds", "too large", "too big")]),
    ("from_unknown.cnn", 4, "head", [("flatt",), ("no layer", "unknown", "not defined", "no such", "does not exist")]),
    ("add_channel_mismatch.cnn", 5, "sum", [("16",), ("32",)]),
    ("concat_spatial_mismatch.cnn", 5, "cat", [("8x8",), ("6x6",)]),
    ("cycle.cnn", {3: "a", 4: "b", 5: "c"}, None, [("cycle", "loop")]),
    ("duplicate_name.cnn", 4, "conv1", [("conv1",), ("duplicate", "twice", "already", "more than once")]),
    ("fc_on_map.cnn", 3, "fc6", [("flatten", "6x6x256")]),
    ("groups_not_dividing.cnn", 3, "conv1", [("16",), ("3",), ("divide", "divisible", "multiple")]),
    ("reshape_count.cnn", 3, "r", [("400",), ("375", "5x5x15")]),
    ("mul_broadcast_mismatch.cnn", 6, "scale", [("16",), ("8",)]),
    ("pool_padding_too_big.cnn", 3, "pool", [("padding", "p="), ("half",)]),
    ("output_padding_too_big.cnn", 3, "up", [("output padding", "op="), ("stride",)]),
]

# files with no layer to blame: the message is `FILE: what is wrong` (a line number is allowed)
UNLOCATED = [
    ("empty.cnn", [("empty", "no layer", "input")]),
    ("only_comments.cnn", [("empty", "no layer", "input")]),
]


def error_of(path: Path) -> str:
    with pytest.raises(cnncalc.CnnCalcError) as info:
        cnncalc.load(path)
    message = str(info.value)
    assert "\n" not in message.strip(), "the message should be one line"
    return message


def check_phrases(text: str, phrases) -> None:
    for alternatives in phrases:
        assert any(a.lower() in text.lower() for a in alternatives), f"none of {alternatives} in {text!r}"


def check_located(message: str, path: Path, line, layer, phrases) -> None:
    found = LOCATED.match(message.strip())
    assert found, f"not FILE:LINE: LAYER: ...: {message!r}"
    assert found["file"] == str(path)
    if isinstance(line, dict):  # any of several layers may be blamed, each on its own line
        assert found["layer"] in line.values(), message
        assert int(found["line"]) == {v: k for k, v in line.items()}[found["layer"]], message
    else:
        assert (int(found["line"]), found["layer"]) == (line, layer), message
    check_phrases(found["what"], phrases)


def ids(cases) -> list[str]:
    return [c[0].removesuffix(".cnn") for c in cases]


def test_every_invalid_file_is_in_a_table():
    listed = {c[0] for c in CASES} | {c[0] for c in UNLOCATED}
    assert {p.name for p in INVALID.glob("*.cnn")} == listed


@pytest.mark.parametrize(("name", "line", "layer", "phrases"), CASES, ids=ids(CASES))
def test_located_error(name, line, layer, phrases):
    path = INVALID / name
    check_located(error_of(path), path, line, layer, phrases)


@pytest.mark.parametrize(("name", "phrases"), UNLOCATED, ids=ids(UNLOCATED))
def test_unlocated_error(name, phrases):
    path = INVALID / name
    message = error_of(path)
    assert message.startswith(f"{path}:"), message
    check_phrases(message[len(str(path)) + 1 :], phrases)


def test_spec_text_errors_name_the_line_too():
    # the same mistake in spec text rather than a file: LINE and LAYER as before
    text = (INVALID / "unknown_key.cnn").read_text()
    with pytest.raises(cnncalc.CnnCalcError) as info:
        cnncalc.load(text)
    found = LOCATED.match(str(info.value))
    assert found, str(info.value)
    assert (int(found["line"]), found["layer"]) == (3, "conv1")


def test_padding_rescues_a_kernel_larger_than_the_map():
    # the same 5x5 kernel on the 3x3 map is fine once padded by 1: (3 + 2*1 - 5)/1 + 1 = 1
    text = (INVALID / "kernel_too_big.cnn").read_text().replace("k=5", "k=5 p=1")
    assert cnncalc.load(text).layer("conv2").output.dims() == [1, 1, 8]


# --- the command line ------------------------------------------------------------------------


def run_cli(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "show", str(path)], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("name", "line", "layer", "phrases"), CASES, ids=ids(CASES))
def test_cli_located_error(name, line, layer, phrases):
    path = INVALID / name
    done = run_cli(path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, done.stderr
    # the CLI may put a prefix such as "error: " before FILE
    message = lines[0][lines[0].index(str(path)) :] if str(path) in lines[0] else lines[0]
    check_located(message, path, line, layer, phrases)


@pytest.mark.parametrize(("name", "phrases"), UNLOCATED, ids=ids(UNLOCATED))
def test_cli_unlocated_error(name, phrases):
    path = INVALID / name
    done = run_cli(path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{path}:" in done.stderr
    check_phrases(done.stderr, phrases)
