"""`cnncalc check --total`: the seeds' figures, right and wrong, and the slip each wrong one comes from.

Every right figure here is the seed's or the paper's own (../shared/seeds, tests/reference/paper_numbers.csv),
worked out by hand in the comments; none is cnncalc's output pasted back.
"""

from __future__ import annotations

import json

import cnncalc
from cnncalc.teach.diagnose import Network, diagnose_total, slip_kind

# The pose network of seed 000, weights only: the three convs, then three heads of FC 3200->512->512->out.
POSE_CONV = 9 * 9 * 3 * 32 + 5 * 5 * 32 * 32 + 5 * 5 * 32 * 32  # 58,976
POSE_HEAD = 3200 * 512 + 512 * 512  # 1,900,544 per head before its output layer
POSE_WEIGHTS = POSE_CONV + 3 * POSE_HEAD + 512 * 448 + 512 * 512 + 512 * 16
POSE_BIASES = 3 * 32 + 6 * 512 + 448 + 512 + 16


def mistakes(source: str, of: str, claimed: int, **kw: object) -> list[str]:
    return [d.mistake for d in diagnose_total(Network(cnncalc.load(source, **kw)), of, claimed)]


def test_pose_weights_only_and_with_biases_are_right(cli) -> None:
    assert POSE_WEIGHTS == 6_260_320  # the seed's answer
    assert cli("check", "posenet", "--total", "6,260,320", "--of", "weights").returncode == 0
    assert cli("check", "posenet", "--total", "6260320", "--no-bias").returncode == 0
    assert POSE_WEIGHTS + POSE_BIASES == 6_264_464
    ok = cli("check", "posenet", "--total", "6264464")
    assert ok.returncode == 0
    assert "6,264,464 is right" in ok.stdout and "weights and biases" in ok.stdout


def test_biases_counted_when_weights_were_asked(cli) -> None:
    out = cli("check", "posenet", "--total", "6264464", "--of", "weights")
    assert out.returncode == 1
    assert "6,260,320" in out.stdout
    assert "bias_counted" in out.stdout


def test_slide_conv_without_input_channels() -> None:
    # The slide: a 32x32x3 input and ten 5x5 filters, "(5x5+1)x10 = 260"; right: (5x5x3+1)x10 = 760.
    spec = "input 32x32x3\nconv 10 k=5\n"
    assert cnncalc.load(spec).totals.params == (5 * 5 * 3 + 1) * 10
    assert "no_input_channels" in mistakes(spec, "params", 260)


def test_joint_regression_head_arithmetic_slip(cli) -> None:
    # Seed 000: (3200x512) + (512x512) + (512x16) = 1,908,736, written once as 1,904,736.
    spec = "set bias=false\ninput 3200\nfc 512\nfc 512\nfc 16\n"
    assert 3200 * 512 + 512 * 512 + 512 * 16 == 1_908_736
    found = mistakes(spec, "params", 1_904_736)
    assert found[0] == "arithmetic_slip"
    out = cli("check", "-", "--total", "1,904,736", "--format", "json", stdin=spec)
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["ok"] is False
    verdict = report["verdicts"][0]
    assert verdict["correct"] == 1_908_736 and verdict["claimed"] == 1_904_736
    assert verdict["diagnoses"][0]["mistake"] == "arithmetic_slip"
    assert set(verdict["diagnoses"][0]) == {"mistake", "explanation", "gives"}


def test_vgg16_without_biases(cli) -> None:
    # Seed 002: VGG16 has 138,357,544 params; its 13 convs and 3 fcs have 13,416 biases.
    biases = 2 * 64 + 2 * 128 + 3 * 256 + 6 * 512 + 4096 + 4096 + 1000
    assert 138_357_544 - biases == 138_344_128
    out = cli("check", "vgg16", "--total", "138344128")
    assert out.returncode == 1
    assert "138,357,544" in out.stdout
    assert out.stdout.index("no_bias") < out.stdout.index("gives")


def test_pose_heads_shared() -> None:
    # Heads counted once: the trunk, one 3200->512->512 stack, then the three output layers.
    shared = POSE_CONV + POSE_HEAD + 512 * 448 + 512 * 512 + 512 * 16
    assert mistakes("posenet", "weights", shared)[0] == "shared_branches"


def test_pose_trunk_counted_per_head() -> None:
    assert mistakes("posenet", "weights", POSE_WEIGHTS + 2 * POSE_CONV)[0] == "separate_trunk"


def test_kernel_3_read_for_5() -> None:
    # A seed answer reads conv3's 5x5 as 3x3: 3x3x32x32 = 9,216 instead of 25,600.
    found = diagnose_total(Network(cnncalc.load("posenet")), "weights", POSE_WEIGHTS - 25_600 + 9_216)
    assert found[0].mistake == "wrong_kernel"
    assert any("conv3" in d.explanation for d in found)


def test_seed_shared_heads_and_small_kernel_together() -> None:
    # Seed 000's 2,442,848: conv3 as 3x3 and the heads' FC layers shared (a pair of slips).
    total = 9 * 9 * 3 * 32 + 5 * 5 * 32 * 32 + 3 * 3 * 32 * 32 + POSE_HEAD + 512 * 448 + 512 * 512 + 512 * 16
    assert total == 2_442_848
    assert "shared_branches+wrong_kernel" in mistakes("posenet", "weights", total)


def test_macs_given_as_flops(cli) -> None:
    # torchvision's ResNet-50: 4,089,184,256 MACs (tests/reference); FLOPs are twice that.
    out = cli("check", "resnet50", "--total", str(2 * 4_089_184_256), "--of", "macs")
    assert out.returncode == 1 and "flops_for_macs" in out.stdout
    assert cli("check", "resnet50", "--total", str(2 * 4_089_184_256), "--of", "flops").returncode == 0


def test_missing_plus_one_everywhere_on_macs() -> None:
    # Two stride-1 3x3 convs on 8x8x1, one filter each: right 6x6 then 4x4 outputs (36*9 + 16*9 MACs).
    # Without the + 1: 5x5 then 2x2 (the second sees the first's wrong 5x5): 25*9 + 4*9.
    spec = "input 8x8x1\nconv 1 k=3\nconv 1 k=3\n"
    assert cnncalc.load(spec).totals.macs == 36 * 9 + 16 * 9
    assert mistakes(spec, "macs", 25 * 9 + 4 * 9)[0] == "missing_plus_one"


def test_padding_ignored_on_one_layer_and_carried() -> None:
    # conv1 3x3 p=1 on 8x8 gives 8x8; a student who drops its padding gets 6x6, and then conv2 (3x3) sees 6x6.
    spec = "input 8x8x1\nconv 1 k=3 p=1\nconv 1 k=3\n"
    right = 64 * 9 + 36 * 9
    assert cnncalc.load(spec).totals.macs == right
    carried = 36 * 9 + 16 * 9
    assert "ignored_padding" in mistakes(spec, "macs", carried)


def test_right_total_has_no_diagnosis() -> None:
    assert diagnose_total(Network(cnncalc.load("posenet")), "weights", POSE_WEIGHTS) == []


def test_no_slip_found_says_so(cli) -> None:
    out = cli("check", "posenet", "--total", "12345", "--of", "weights")
    assert out.returncode == 1
    assert "no slip in the catalogue" in out.stdout


def test_slip_kinds() -> None:
    assert slip_kind(1_904_736, 1_908_736) == "a digit miscopied"
    assert slip_kind(190_736, 1_908_736) == "a digit lost"
    assert slip_kind(19_908_736, 1_908_736) == "a digit doubled"
    assert slip_kind(1_980_736, 1_908_736) == "two digits swapped"
    assert slip_kind(61_260_320, 6_260_320) == "a digit added"  # seed 000: "Sum = 61260,320"
    assert slip_kind(1_908_736, 1_908_736) is None
    assert slip_kind(1_000, 1_908_736) is None


def test_bad_total_is_a_clear_error(cli) -> None:
    out = cli("check", "posenet", "--total", "six million")
    assert out.returncode == 2
    assert "--total six million" in out.stderr and "Traceback" not in out.stderr


def test_check_without_answers_still_validates(cli) -> None:
    out = cli("check", "posenet")
    assert out.returncode == 0 and "ok" in out.stdout
