"""Receptive fields worked by hand with the seed notes' recursion, and checked against PyTorch's autograd.

Seed 001: R_L = R_{L-1} + (k_L - 1) * d_L * prod_{i<L} s_i; the jump J_L = J_{L-1} * s_L; the effective padding
(google-research/receptive_field) P_L = P_{L-1} + p_L * J_{L-1}. Unit u of layer L then sees input pixels
u*J_L - P_L .. u*J_L - P_L + R_L - 1; those below 0 or past the input are padding.

The oracle: a network of all-ones convolutions (average pooling for max pooling: the same window) is linear
with positive weights, so unit u depends on input pixel p exactly when the gradient of u with respect to p is
non-zero. Its first and last such pixel must be the window above, clipped to the input.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

import cnncalc
from cnncalc.teach.coords import unit_window, units_seeing
from cnncalc.teach.fields import field_rows

torch = pytest.importorskip("torch")


def rows(spec: str) -> dict:
    return {r.name: r for r in field_rows(cnncalc.load(spec))}


def axis(spec: str, name: str) -> tuple:
    a = rows(spec)[name].h
    return a.size, a.jump, a.padding, a.pixels()


def torch_extent(layers: list, size: int, unit: int) -> tuple[int, int]:
    """First and last input row unit (unit, unit) of the last layer depends on, by autograd."""
    net = torch.nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.ones_(m.weight)
            torch.nn.init.zeros_(m.bias)
    x = torch.ones(1, 1, size, size, requires_grad=True)
    net(x)[0, 0, unit, unit].backward()
    hit = (x.grad[0, 0].abs().sum(dim=1) > 0).nonzero().flatten().tolist()
    return hit[0], hit[-1]


def conv(k: int, s: int = 1, p: int = 0, d: int = 1):  # type: ignore[no-untyped-def]
    return torch.nn.Conv2d(1, 1, k, s, p, d)


# --- dilation ---------------------------------------------------------------------------------------------

DILATED = """
input 32x32x1
l1: conv 1 k=3
l2: conv 1 k=3 s=2
l3: conv 1 k=3 d=2 p=2
l4: conv 1 k=3 d=4 p=4
"""


def test_dilation_by_the_seed_recursion() -> None:
    # R: 1 + (3-1)*1*1 = 3; 3 + (3-1)*1*1 = 5; 5 + (3-1)*2*(1*2) = 13; 13 + (3-1)*4*(1*2*1) = 29
    # J: 1, 2, 2, 2.  P: 0, 0, 0 + 2*2 = 4, 4 + 4*2 = 12.  Unit 0 sees -P .. -P + R - 1.
    assert axis(DILATED, "l1") == (3, 1, 0, (0, 2))
    assert axis(DILATED, "l2") == (5, 2, 0, (0, 4))
    assert axis(DILATED, "l3") == (13, 2, 4, (-4, 8))
    assert axis(DILATED, "l4") == (29, 2, 12, (-12, 16))
    # the closed form: R_4 = 1 + (3-1)*1*1 + (3-1)*1*1 + (3-1)*2*2 + (3-1)*4*2 = 29
    assert rows(DILATED)["l4"].h.size == 1 + 2 + 2 + 8 + 16


@pytest.mark.parametrize("unit", [6, 7])
def test_dilated_windows_against_autograd(unit: int) -> None:
    # l4 is 14x14 (32 -> 30 -> 14 -> 14 -> 14). Unit u sees 2u - 12 .. 2u + 16: for u = 6 and 7 all of it is
    # inside 0..31, and autograd finds exactly that window.
    layers = [conv(3), conv(3, s=2), conv(3, p=2, d=2), conv(3, p=4, d=4)]
    want = (2 * unit - 12, 2 * unit + 16)
    assert torch_extent(layers, 32, unit) == want
    win = unit_window(rows(DILATED)["l4"], (unit, unit))
    assert (win.rows.first, win.rows.last) == want


def test_dilated_windows_that_reach_into_padding_bound_autograd() -> None:
    # Near the border a dilated tap can land on padding: unit 3 of l4 reads l3 units 3 - 4, 3 and 3 + 4, and
    # l3 unit -1 is a zero, so input rows 0..1 (in the window -6..22) are never read. The field is the
    # geometric window; what a unit reads lies inside it.
    layers = [conv(3), conv(3, s=2), conv(3, p=2, d=2), conv(3, p=4, d=4)]
    assert torch_extent(layers, 32, 3) == (2, 22)
    for unit in range(14):
        first, last = torch_extent(layers, 32, unit)
        assert 2 * unit - 12 <= first and last <= 2 * unit + 16


# --- transposed convolution -------------------------------------------------------------------------------

CONV_T = """
input 8x8x1
down: conv 1 k=4 s=2 p=1
up: convT 1 k=4 s=2 p=1
after: conv 1 k=3 p=1
"""


def test_transposed_conv_by_hand() -> None:
    # down: R = 4, J = 2, P = 1 (unit 0 sees -1..2).
    # up: a transposed conv reads at most floor((k-1)/s) + 1 = 2 inputs per output, so R = 4 + floor(3/2)*2 = 6;
    # J = 2/2 = 1; its centre moves by J_in*(p - (k-1)/2)/s = 2*(1 - 1.5)/2 = -0.5: from 1.0 to 0.5, so
    # P = 6/2 - 0.5 = 2.5 and the field spans [-2.5, 3.5): not whole pixels.
    # after: R = 6 + (3-1)*1 = 8, J = 1, P = 2.5 + 1*1 = 3.5.
    got = rows(CONV_T)
    assert axis(CONV_T, "down") == (4, 2, 1, (-1, 2))
    up = got["up"].h
    assert (up.size, up.jump, up.padding, up.lo(), up.hi()) == (6, 1, Fraction(5, 2), -2.5, 3.5)
    assert not up.exact and any("off whole pixels" in n for n in got["up"].notes)
    assert (got["after"].h.size, got["after"].h.padding) == (8, Fraction(7, 2))


@pytest.mark.parametrize("unit", [1, 2, 3, 4])
def test_transposed_conv_windows_hold_what_autograd_finds(unit: int) -> None:
    # The field is the widest any unit reads (6 = two of down's 4-pixel windows, 2 apart), and every unit's
    # dependencies lie inside its window.
    # Output o of the convT reads down units i with 2i - 1 + t = o, t in 0..3: units 1 and 2 read down 0 and 1
    # (pixels -1..4), units 3 and 4 read down 1 and 2 (1..6): 6 pixels, centred at 1.5 and 3.5. The field puts
    # unit u at u (pixel centres), [u - 3, u + 3] in whole pixels, which holds both.
    layers = [conv(4, 2, 1), torch.nn.ConvTranspose2d(1, 1, 4, 2, 1)]
    first, last = torch_extent(layers, 8, unit)
    up = rows(CONV_T)["up"].h
    assert up.pixels(unit) == (unit - 3, unit + 3)
    assert up.pixels(unit)[0] <= first and last <= up.pixels(unit)[1]
    widest = max(torch_extent(layers, 8, u)[1] - torch_extent(layers, 8, u)[0] + 1 for u in range(1, 7))
    assert widest == up.size == 6


# --- branches ---------------------------------------------------------------------------------------------

MISALIGNED_CENTRES = """
input 32x32x1
a1: conv 1 k=2 p=same
a2: conv 1 k=2 p=same
b: conv 1 k=3 p=1 from=input
m: add from=a2,b
"""


def test_misaligned_centres_take_the_union_and_say_so() -> None:
    # k=2 SAME pads 0 before (1 after): a1 sees 0..1, a2 0..2. b (3x3, p=1) sees -1..1.
    # The union is -1..2: R = 4, P = 1. Centres: a2 (0 + 2)/2 = 1, b (-1 + 1)/2 = 0: misaligned.
    got = rows(MISALIGNED_CENTRES)
    assert axis(MISALIGNED_CENTRES, "a2") == (3, 1, 0, (0, 2))
    assert axis(MISALIGNED_CENTRES, "b") == (3, 1, 1, (-1, 1))
    assert axis(MISALIGNED_CENTRES, "m") == (4, 1, 1, (-1, 2))
    assert got["m"].notes == [
        "paths misaligned: unit 0 is centred differently (a2 0..2, b -1..1); the field is their union, -1..2"
    ]


def test_misaligned_centres_against_autograd() -> None:
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a1, self.a2, self.b = conv(2), conv(2), conv(3, p=1)

        def forward(self, x):  # type: ignore[no-untyped-def]
            pad = torch.nn.functional.pad  # SAME for k=2: 0 before, 1 after
            return self.a2(pad(self.a1(pad(x, (0, 1, 0, 1))), (0, 1, 0, 1))) + self.b(x)

    # unit 5 sees the union 5 - 1 .. 5 + 2 = 4..7
    assert torch_extent([Net()], 32, 5) == (4, 7)
    win = unit_window(rows(MISALIGNED_CENTRES)["m"], (5, 5))
    assert (win.rows.first, win.rows.last) == (5 * 1 - 1, 5 * 1 - 1 + 4 - 1)


MISALIGNED_JUMPS = """
input 32x32x1
s: conv 1 k=1 s=2
v: conv 1 k=17 from=input
m: add from=s,v
"""


def test_misaligned_jumps_are_warned() -> None:
    # Both maps are 16x16: s = floor((32 - 1)/2) + 1, v = 32 - 17 + 1. s: R 1, J 2 (unit u sees pixel 2u);
    # v: R 17, J 1 (unit u sees u..u+16). Unit 0's union is 0..16 (R 17), but unit 5 sees pixel 10 and
    # 5..21: no single jump describes both, which is what the warning is for.
    got = rows(MISALIGNED_JUMPS)
    assert got["m"].h.size == 17 and got["m"].h.pixels() == (0, 16)
    assert got["m"].notes[0] == "paths misaligned: jumps differ (s 2, v 1); the field uses the largest"
    assert got["m"].notes[1].startswith("paths misaligned: unit 0 is centred differently (s 0..0, v 0..16)")
    assert cnncalc.load(MISALIGNED_JUMPS).layer("m").warnings == [
        "branches arrive with different jumps (1, 2); the field uses the largest"
    ]


def test_concat_of_1x1_maps_keeps_its_field() -> None:
    # Two 1x1 maps concatenated: a (5x5 conv on 5x5) sees 0..4; b then a 3x3/3 pool sees 3 + (3-1)*1 = 5
    # pixels, 0..4. The concat sees their union, 0..4 (R 5, centre 2.5), not nothing (the old rule took any
    # 1x1 input of a merge for a broadcast gate). One unit along each axis: no jump warning.
    model = cnncalc.load("input 5x5x1\na: conv 4 k=5\nb: conv 4 k=3 from=input\nbp: maxpool k=3\nc: concat from=a,bp\n")
    rf = model.layer("c").rf.to_dict()
    assert (rf["size"], rf["start"]) == (5, 2.5)
    assert model.layer("c").warnings == []


def test_concat_of_flattened_vectors_then_fc_sees_the_whole_input() -> None:
    # f: 3x3 windows at stride 3 tile the 9x9 input exactly (units see 0..2, 3..5, 6..8); g sees every
    # other pixel, 0..8. Flattened and joined, an fc over them sees all 9 rows and columns: global.
    model = cnncalc.load(
        "input 9x9x1\na: conv 4 k=3 s=3\nf: flatten\nb: conv 4 k=1 s=2 from=input\ng: flatten\n"
        "h: concat from=f,g\nfc: fc 10\n"
    )
    assert model.layer("h").rf is None  # a vector
    assert model.layer("fc").rf.to_dict() == {"global": True}


def test_squeeze_excitation_gate_is_left_out_and_named() -> None:
    # m = c * gate: the gate (gap -> 1x1 conv) is broadcast over 8x8, so m keeps c's field: R 3, J 1, P 1
    spec = "input 8x8x4\nc: conv 4 k=3 p=1\ng: gap\nfc: conv 4 k=1\nm: mul from=c,fc\n"
    got = rows(spec)
    assert axis(spec, "m") == (3, 1, 1, (-1, 1))
    assert got["m"].notes == ["fc is a gate broadcast over 8x8: its global context is not counted"]


# --- global ops -------------------------------------------------------------------------------------------


def test_global_pool_sees_the_whole_input_without_a_number(cli) -> None:  # type: ignore[no-untyped-def]
    spec = "input 7x7x8\nc: conv 8 k=3 p=1\ng: gap\nh: conv 4 k=1\n"
    got = rows(spec)
    assert got["g"].kind == got["h"].kind == "global"
    assert got["g"].notes == ["sees the whole input"] and got["h"].notes == []
    done = cli("rf", "-", "--format", "json", stdin=spec)
    layers = {x["name"]: x for x in json.loads(done.stdout)["layers"]}
    assert layers["g"]["field"] == "global" and "h" not in layers["g"]
    table = cli("rf", "-", stdin=spec).stdout
    assert "whole input" in table and "first layer that sees the whole input: g" in table
    unit = cli("map", "-", "--layer", "g", "--unit", "0,0", stdin=spec)
    assert unit.returncode == 0 and "sees the whole input" in unit.stdout


# --- a field larger than the input ------------------------------------------------------------------------

LARGER = """
input 8x8x1
c1: conv 1 k=3 p=1
c2: conv 1 k=3 p=1
c3: conv 1 k=3 s=2 p=1
c4: conv 1 k=3 p=1
"""


def test_field_larger_than_the_input() -> None:
    # R: 3, 5, 7, 7 + (3-1)*1*2 = 11.  J: 1, 1, 2, 2.  P: 1, 2, 3, 3 + 1*2 = 5.  c4 is 4x4 (8 -> 4).
    # 11 > 8: every unit's window has at least 11 - 8 = 3 rows outside the input.
    got = rows(LARGER)
    assert axis(LARGER, "c4") == (11, 2, 5, (-5, 5))
    assert got["c4"].notes == ["field 11 > input 8: at least 3 of every unit's 11 rows and columns fall in padding"]
    # unit 0 sees -5..5: 5 rows before row 0, 6 inside; the window's area in padding is 1 - (6*6)/(11*11)
    assert got["c4"].h.outside() == (5, 0)
    assert got["c4"].padding_share == 1 - Fraction(6 * 6, 11 * 11)
    # unit 3 sees 3*2 - 5 = 1 .. 1 + 11 - 1 = 11: 7 rows inside (1..7), 11 - 7 = 4 past row 7
    win = unit_window(got["c4"], (3, 3))
    assert (win.rows.first, win.rows.last, win.rows.before, win.rows.after) == (1, 11, 0, 4)
    assert win.share == 1 - Fraction(7 * 7, 11 * 11)


def test_larger_field_against_autograd() -> None:
    layers = [conv(3, p=1), conv(3, p=1), conv(3, 2, 1), conv(3, p=1)]
    for unit in range(4):
        assert torch_extent(layers, 8, unit) == (max(2 * unit - 5, 0), min(2 * unit + 5, 7))


def test_pixel_to_units_against_autograd() -> None:
    # Units of c4 whose window holds input row p: 2u - 5 <= p <= 2u + 5, i.e. ceil((p - 5)/2) <= u <= floor((p + 5)/2)
    # within 0..3. Autograd: feed a one-hot input at p; the units it reaches are those that depend on it.
    layers = [conv(3, p=1), conv(3, p=1), conv(3, 2, 1), conv(3, p=1)]
    net = torch.nn.Sequential(*layers)
    for m in net:
        torch.nn.init.ones_(m.weight)
        torch.nn.init.zeros_(m.bias)
    row = rows(LARGER)["c4"]
    for p in range(8):
        x = torch.zeros(1, 1, 8, 8)
        x[0, 0, p, 0] = 1
        with torch.no_grad():
            reached = (net(x)[0, 0, :, 0] > 0).nonzero().flatten().tolist()
        found = units_seeing(row, (p, 0)).rows
        assert (found.first, found.last) == (reached[0], reached[-1])
        assert (found.first, found.last) == (max(-((5 - p) // 2), 0), min((p + 5) // 2, 3))
