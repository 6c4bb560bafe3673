"""Whatever text comes in, the result is a report or a clear error with its place: never a traceback, never a hang.

Random text, random edits of every zoo model's spec, and the awkward encodings users' editors produce.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc import zoo
from cnncalc.errors import CnnCalcError, SpecError
from cnncalc.spec import parse_spec

SETTINGS = settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

WORDS = [
    "input", "conv", "dwconv", "convT", "maxpool", "avgpool", "gap", "fc", "bn", "relu", "flatten", "concat", "add",
    "mul", "upsample", "reshape", "set", "slice", "shuffle", "k=", "s=", "p=", "d=", "g=", "from=", "bias=", "ceil=",
    "scale=", "mode=", "x", ":", "#", "=", ",", "224x224x3", "3", "0", "-1", "99999999999999999999", "same", "valid",
    "true", "1.5", "\t", " ", "\n", "\r\n", "\ufeff", "ü", "名", "a:b", "input:",
]  # fmt: skip


def outcome(text: str) -> str:
    """`ok` or the error message; anything else than CnnCalcError propagates and fails the test."""
    try:
        cnncalc.load(parse_spec(text, source="t.cnn", name="t")).to_dict()
    except CnnCalcError as exc:
        message = str(exc)
        assert message and ("\n" not in message.strip() or "\n  line" in message), message
        return message
    return "ok"


@SETTINGS
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    outcome(text)


@SETTINGS
@given(st.lists(st.sampled_from(WORDS), max_size=60).map("".join))
def test_spec_like_text(text: str) -> None:
    outcome(text)


@SETTINGS
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join), max_size=20))
def test_spec_like_lines(lines: list[str]) -> None:
    outcome("input 32x32x3\n" + "\n".join(lines))


EDITED = ("lenet5", "alexnet_caffe", "resnet18", "googlenet", "mobilenet_v2", "shufflenet_v2_x0_5", "densenet121")
SPECS = {name: cnncalc.load(name).to_spec() for name in EDITED}


@st.composite
def edited_spec(draw: st.DrawFn) -> str:
    """A zoo model's spec with a few random edits: a character changed, a token replaced, a line dropped or moved."""
    lines = SPECS[draw(st.sampled_from(sorted(SPECS)))].splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["char", "token", "drop", "move", "number"]))
        if kind == "char" and lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + draw(st.sampled_from(WORDS)) + lines[i][j + 1 :]
        elif kind == "token":
            tokens = lines[i].split(" ")
            tokens[draw(st.integers(0, len(tokens) - 1))] = draw(st.sampled_from(WORDS))
            lines[i] = " ".join(tokens)
        elif kind == "drop":
            del lines[i]
            if not lines:
                return ""
        elif kind == "move":
            lines.insert(draw(st.integers(0, len(lines) - 1)), lines.pop(i))
        else:
            number = draw(st.sampled_from(["0", "-3", "1", "65537", "10" * 12, "3x0", "2.5"]))
            lines[i] = re.sub(r"\d+", number, lines[i], count=1)
    return "\n".join(lines)


@SETTINGS
@given(edited_spec())
def test_edited_zoo_specs(text: str) -> None:
    outcome(text)


def test_every_zoo_spec_reads_back() -> None:
    for name in zoo.names():
        model = cnncalc.load(name)
        again = cnncalc.load(parse_spec(model.to_spec(), source=f"{name}.cnn", name=name))
        assert again.totals == model.totals, name


LENET = "input 32x32x1\nconv 6 k=5\nrelu\nmaxpool k=2\nconv 16 k=5\nrelu\nmaxpool k=2\nflatten\nfc 120\nfc 84\nfc 10\n"
LENET_PARAMS = (5 * 5 * 1 + 1) * 6 + (5 * 5 * 6 + 1) * 16 + (400 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10


@pytest.mark.parametrize(
    "variant",
    [
        LENET.replace("\n", "\r\n"),  # Windows line ends
        LENET.replace("\n", "\r"),  # old Mac line ends
        "\ufeff" + LENET,  # a byte-order mark
        LENET.replace(" ", "\t"),  # tabs between tokens
        LENET.replace(" ", "   "),  # runs of spaces
        "  # a comment first\n\n" + LENET + "\n\n# and last\n",
    ],
)
def test_editor_encodings(variant: str) -> None:
    assert LENET_PARAMS == 61_706
    assert cnncalc.load(parse_spec(variant, source="v.cnn", name="v")).totals.params == LENET_PARAMS


def test_unicode_names_fail_clearly() -> None:
    # Names are ASCII so that every exported PyTorch attribute and every shell argument stays typeable.
    message = outcome(LENET.replace("conv 6", "cönv_名1: conv 6"))
    assert message.startswith("t.cnn:2:") and "'cönv_名1' is not a usable layer name" in message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("input 32x32x3\nconv 99999999999999999999999 k=3\n", "t.cnn:2"),
        ("input 99999999x99999999x3\nconv 8 k=3\n", ""),
        ("input 32x32x3\nconv 8 k=99999999999999999999\n", "t.cnn:2"),
        ("input 0x32x3\n", "t.cnn:1"),
        ("input 32x32x3\nconv 8 k=3 k=5\n", "t.cnn:2"),
        ("input 32x32x3\nconv\n", "t.cnn:2"),
        ("\x00\x01\x02", "t.cnn:1"),
        ("input 8x8x3\nadaptiveavgpool 10101010101010101010101x7\n", "t.cnn:2"),  # was a hang: found by hypothesis
    ],
)
def test_large_and_odd_numbers(text: str, needle: str) -> None:
    message = outcome(text)
    assert message == "ok" or needle in message, message


def test_errors_carry_their_line() -> None:
    with pytest.raises(SpecError) as info:
        cnncalc.load(parse_spec("input 8x8x1\nconv 4 k=3\nconv 4 k=9\n", source="t.cnn", name="t"))
    assert info.value.line == 3
    assert str(info.value).startswith("t.cnn:3: conv2:")


@pytest.mark.parametrize(("branches", "distinct"), [(3_000, 13), (2_000, 100_000)])
def test_wide_concat(branches: int, distinct: int) -> None:
    # One input feeding thousands of parallel 1x1 convs, merged by one concat: channels are the plain sum.
    lines = ["input 8x8x4"] + [f"br{i}: conv {1 + i % distinct} k=1 from=input" for i in range(branches)]
    lines.append("cat: concat from=" + ",".join(f"br{i}" for i in range(branches)))
    model = cnncalc.load(parse_spec("\n".join(lines), source="wide.cnn", name="wide"))
    assert model.layer("cat").output.c == sum(1 + i % distinct for i in range(branches))
    from cnncalc.render.explain import explain_text

    assert "cat (concat, from br0, br1" in explain_text(model.report)
