"""`cnncalc map`: the seed notes' point mapping, PyTorch's interpolation, and unit windows worked by hand."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from cnncalc.teach.coords import map_point

# --- the seed notes (001): image 32, activation map 10, point (4, 8) ---------------------------------------


def test_the_notes_point_by_the_scale(cli) -> None:  # type: ignore[no-untyped-def]
    # S = 32/10 = 3.2; 4/3.2 = 1.25, 8/3.2 = 2.5. Bilinear along the first axis (0.75, 0.25), then the second
    # (0.5, 0.5): f(4,8) = 0.375 f(1,2) + 0.125 f(2,2) + 0.375 f(1,3) + 0.125 f(2,3).
    done = cli("map", "--image", "32", "--fmap", "10", "--point", "4,8", "--format", "json")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["convention"] == "scale"
    assert got["on_map"] == [1.25, 2.5]
    assert [(b["row"], b["col"], b["weight"]) for b in got["bilinear"]] == [
        (1, 2, 0.375),
        (2, 2, 0.125),
        (1, 3, 0.375),
        (2, 3, 0.125),
    ]
    text = cli("map", "--image", "32", "--fmap", "10", "--point", "4,8").stdout
    assert "convention: scale" in text
    assert "S = image / fmap = 32 / 10 = 3.2" in text
    assert "y' = y / S = 4 / 3.2 = 1.25" in text and "x' = x / S = 8 / 3.2 = 2.5" in text
    assert "f(1.25, 2) = 0.75 f(1, 2) + 0.25 f(2, 2)" in text
    assert "f(1.25, 3) = 0.75 f(1, 3) + 0.25 f(2, 3)" in text
    assert "f(1.25, 2.5) = 0.5 f(1.25, 2) + 0.5 f(1.25, 3)" in text
    assert "= 0.375 f(1, 2) + 0.125 f(2, 2) + 0.375 f(1, 3) + 0.125 f(2, 3)" in text
    # nearest: row round(1.25) = 1; column 2.5 is halfway between 2 and 3, rounded up
    assert "= (1, 3) (2.5 halfway: rounded up)" in text


def test_conventions_by_hand() -> None:
    # half-pixel: (4 + 0.5)/3.2 - 0.5 = 0.90625, (8 + 0.5)/3.2 - 0.5 = 2.15625
    half = map_point((32, 32), (10, 10), (Fraction(4), Fraction(8)), "half-pixel")
    assert (half.y.coord, half.x.coord) == (Fraction(90625, 100000), Fraction(215625, 100000))
    # align corners: 4 * 9/31 = 36/31, 8 * 9/31 = 72/31
    corners = map_point((32, 32), (10, 10), (Fraction(4), Fraction(8)), "align-corners")
    assert (corners.y.coord, corners.x.coord) == (Fraction(36, 31), Fraction(72, 31))
    # the last pixel under the scale: 31/3.2 = 9.6875 lies past row 9, so it is clamped to 9 (weight 1 there)
    edge = map_point((32, 32), (10, 10), (Fraction(31), Fraction(31)), "scale")
    assert edge.weights == {(9, 9): 1}


def test_cli_states_the_convention_and_refuses_a_contradiction(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("map", "--image", "32", "--fmap", "10", "--point", "4,8", "--align-corners").stdout
    assert "convention: align-corners" in out
    out = cli("map", "--image", "32", "--fmap", "10", "--point", "4,8", "--convention", "half-pixel").stdout
    assert "convention: half-pixel" in out
    bad = cli("map", "--image", "32", "--fmap", "10", "--point", "4,8", "--align-corners", "--convention", "scale")
    assert bad.returncode == 2 and "disagree" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--image", "32", "--point", "4,8"),  # no --fmap
        ("--image", "32", "--fmap", "10", "--point", "4"),  # one number
        ("--image", "32", "--fmap", "0", "--point", "4,8"),
        ("--image", "32", "--fmap", "10", "--point", "32,0"),  # outside the image
        ("--image", "32", "--fmap", "10"),  # nothing to map
        ("vgg16", "--unit", "0,0"),  # no --layer
        ("vgg16", "--layer", "pool5", "--unit", "7,0"),  # outside the 7x7 map
        ("vgg16", "--layer", "pool", "--unit", "0,0"),  # no such layer
        ("vgg16", "--layer", "pool5", "--pixel", "0,224"),  # outside the input
        ("vgg16", "--layer", "flatten1", "--unit", "0,0"),  # a vector
        ("vgg16", "--layer", "pool5", "--unit", "0,0", "--pixel", "0,0"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(cli, args) -> None:  # type: ignore[no-untyped-def]
    done = cli("map", *args)
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


# --- PyTorch ----------------------------------------------------------------------------------------------

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _basis(h: int, w: int):  # type: ignore[no-untyped-def]
    # channel r*w + c is one at map pixel (r, c): interpolating it gives every map pixel's weight at once
    return torch.eye(h * w, dtype=torch.float64).reshape(1, h * w, h, w)


def _weights(pm) -> dict:  # type: ignore[no-untyped-def]
    return {k: float(v) for k, v in pm.weights.items() if v}


def _torch_weights(column, w: int) -> dict:  # type: ignore[no-untyped-def]
    return {(i // w, i % w): float(v) for i, v in enumerate(column.tolist()) if abs(v) > 1e-12}


def _close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-9 for k in a)


@pytest.mark.parametrize(("image", "fmap"), [((32, 32), (10, 10)), ((32, 24), (10, 7)), ((7, 9), (16, 20))])
@pytest.mark.parametrize(("convention", "align"), [("half-pixel", False), ("align-corners", True)])
def test_bilinear_weights_match_interpolate(image, fmap, convention, align) -> None:  # type: ignore[no-untyped-def]
    # F.interpolate(map, size=image) computes every image pixel from the map: the weights of image pixel (y, x)
    # are the map's bilinear weights at the point that pixel is carried to.
    out = F.interpolate(_basis(*fmap), size=image, mode="bilinear", align_corners=align)[0]
    for y in range(image[0]):
        for x in range(image[1]):
            got = _weights(map_point(image, fmap, (Fraction(y), Fraction(x)), convention))
            assert _close(got, _torch_weights(out[:, y, x], fmap[1])), (y, x)


@pytest.mark.parametrize(("image", "fmap"), [((32, 32), (10, 10)), ((32, 24), (10, 7))])
def test_scale_weights_match_grid_sample(image, fmap) -> None:  # type: ignore[no-untyped-def]
    # No interpolate mode maps y to y * fmap/image for bilinear; grid_sample reads any point: with
    # align_corners=True, grid value g reaches map coordinate (g + 1)/2 * (n - 1), and border padding clamps.
    points = [(Fraction(y), Fraction(x)) for y in range(image[0]) for x in range(image[1])]

    def g(v: Fraction, n: int, size: int) -> float:  # map coordinate v * n/size as a grid value
        return 2 * float(v * n / size) / (n - 1) - 1

    xy = [[g(p[1], fmap[1], image[1]), g(p[0], fmap[0], image[0])] for p in points]  # grid_sample takes (x, y)
    grid = torch.tensor(xy, dtype=torch.float64).reshape(1, 1, len(points), 2)
    out = F.grid_sample(_basis(*fmap), grid, mode="bilinear", padding_mode="border", align_corners=True)[0, :, 0]
    for i, p in enumerate(points):
        assert _close(_weights(map_point(image, fmap, p, "scale")), _torch_weights(out[:, i], fmap[1])), p
    # the notes' point among them: (4, 8) -> 0.375, 0.125, 0.375, 0.125
    notes = _torch_weights(out[:, points.index((4, 8))], fmap[1]) if image == (32, 32) else None
    if notes is not None:
        assert notes == {(1, 2): 0.375, (2, 2): 0.125, (1, 3): 0.375, (2, 3): 0.125}


@pytest.mark.parametrize(("image", "fmap"), [((32, 32), (10, 10)), ((32, 24), (10, 7)), ((7, 9), (16, 20))])
def test_nearest_matches_interpolate(image, fmap) -> None:  # type: ignore[no-untyped-def]
    # half-pixel nearest is mode="nearest-exact"; PyTorch's legacy mode="nearest" floors y * fmap/image,
    # which the scale convention's output names apart from the rounded nearest.
    exact = F.interpolate(_basis(*fmap), size=image, mode="nearest-exact")[0]
    legacy = F.interpolate(_basis(*fmap), size=image, mode="nearest")[0]
    for y in range(image[0]):
        for x in range(image[1]):
            half = map_point(image, fmap, (Fraction(y), Fraction(x)), "half-pixel")
            assert _torch_weights(exact[:, y, x], fmap[1]) == {half.nearest: 1.0}, (y, x)
            scale = map_point(image, fmap, (Fraction(y), Fraction(x)), "scale")
            assert _torch_weights(legacy[:, y, x], fmap[1]) == {scale.floor_nearest: 1.0}, (y, x)


# --- units and pixels of a network ------------------------------------------------------------------------


def test_vgg16_pool5_unit_window_by_hand(cli) -> None:  # type: ignore[no-untyped-def]
    # Distill / google-research: VGG-16 pool5 R = 212, J = 32, P = 90. Unit (3, 6) sees rows 3*32 - 90 = 6 ..
    # 6 + 211 = 217 and columns 6*32 - 90 = 102 .. 313, of which 313 - 223 = 90 lie past column 223.
    # Centre ((6 + 217)/2, (102 + 313)/2) = (111.5, 207.5). Padding share 1 - (212*122)/(212*212).
    done = cli("map", "vgg16", "--layer", "pool5", "--unit", "3,6", "--format", "json")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert (got["rows"]["first"], got["rows"]["last"]) == (6, 217)
    assert (got["columns"]["first"], got["columns"]["last"]) == (102, 313)
    assert (got["rows"]["padding_after"], got["columns"]["padding_after"]) == (0, 90)
    assert (got["rows"]["centre"], got["columns"]["centre"]) == (111.5, 207.5)
    assert got["padding_share"] == pytest.approx(1 - (212 * 122) / (212 * 212))
    text = cli("map", "vgg16", "--layer", "pool5", "--unit", "3,6").stdout
    assert "6*32 - 90 = 102 .. 102 + 212 - 1 = 313" in text
    assert "in padding: 90 past column 223" in text


def test_vgg16_pool5_units_seeing_a_pixel_by_hand(cli) -> None:  # type: ignore[no-untyped-def]
    # Pixel (100, 30) is in unit u's window when 32u - 90 <= p <= 32u + 121:
    # rows ceil((100 - 121)/32) = 0 .. floor((100 + 90)/32) = 5; columns ceil((30 - 121)/32) -> 0 .. floor(120/32) = 3
    got = json.loads(cli("map", "vgg16", "--layer", "pool5", "--pixel", "100,30", "--format", "json").stdout)
    assert (got["rows"]["first"], got["rows"]["last"]) == (0, 5)
    assert (got["columns"]["first"], got["columns"]["last"]) == (0, 3)
    assert got["units"] == 6 * 4


def test_a_pixel_no_unit_sees(cli) -> None:  # type: ignore[no-untyped-def]
    # 1x1 windows at stride 2: unit u sees only pixel 2u, so pixel 3 is seen by none
    done = cli("map", "-", "--layer", "s", "--pixel", "3,2", stdin="input 8x8x1\ns: conv 1 k=1 s=2\n")
    assert done.returncode == 0
    assert "rows    none" in done.stdout and "no unit of this layer sees that pixel" in done.stdout


def test_point_on_a_layer_uses_the_input_and_layer_sizes(cli) -> None:  # type: ignore[no-untyped-def]
    # vgg16 input 224 -> pool5 7: S = 32; half-pixel (100 + 0.5)/32 - 0.5 = 2.640625, which is also where
    # pool5's own fields put it: unit u is centred at 15.5 + 32u, so (100 - 15.5)/32 = 2.640625
    out = cli("map", "vgg16", "--layer", "pool5", "--point", "100,30", "--convention", "half-pixel").stdout
    assert "S = image / fmap = 224 / 7 = 32" in out
    assert "y' = (y + 0.5) / S - 0.5 = (100 + 0.5) / 32 - 0.5 = 2.640625" in out
    assert "y' = (100 - 15.5)/32 = 2.640625" in out
