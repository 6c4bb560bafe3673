"""Receptive fields worked by hand, layer by layer.

Convention (DESIGN.md): input pixel 0 spans [0, 1), so the input has size 1, jump 1, start 0.5;
`start` is the centre of output unit 0 in input pixel coordinates. Through a window of effective
kernel k_eff = d(k - 1) + 1, stride s and padding p_before:

    size_out  = size_in + (k_eff - 1) * jump_in
    jump_out  = jump_in * s
    start_out = start_in + ((k_eff - 1)/2 - p_before) * jump_in

Through a transposed convolution: size grows by floor((k_eff - 1)/s) * jump_in, jump becomes jump_in/s,
start_out = start_in + jump_in * (p - (k_eff - 1)/2) / s. Over a merge the field is the union of the
branches' fields. Every expected figure below is that arithmetic, written out.
"""

from __future__ import annotations

import cnncalc


def fields(spec: str, **options) -> dict:
    model = cnncalc.load(spec, **options)
    return {x.name: (x.rf.to_dict() if x.rf is not None else None) for x in model.layers}


def rf(size, jump, start) -> dict:
    return {"size": size, "jump": jump, "start": start}


def test_input_field_is_one_pixel():
    assert fields("input 32x32x1\n")["input"] == rf(1, 1, 0.5)


def test_small_chain():
    got = fields(
        """
        input 32x32x1
        c1: conv 1 k=3
        p1: maxpool k=2
        c2: conv 1 k=3 p=1
        c3: conv 1 k=3 s=2 p=1
        """
    )
    assert got["c1"] == rf(1 + (3 - 1) * 1, 1 * 1, 0.5 + ((3 - 1) / 2 - 0) * 1)  # 3, 1, 1.5
    assert got["p1"] == rf(3 + (2 - 1) * 1, 1 * 2, 1.5 + ((2 - 1) / 2 - 0) * 1)  # 4, 2, 2.0
    assert got["c2"] == rf(4 + (3 - 1) * 2, 2 * 1, 2.0 + ((3 - 1) / 2 - 1) * 2)  # 8, 2, 2.0
    assert got["c3"] == rf(8 + (3 - 1) * 2, 2 * 2, 2.0 + ((3 - 1) / 2 - 1) * 2)  # 12, 4, 2.0


def test_activations_keep_the_field():
    got = fields("input 16x16x1\nc1: conv 1 k=3\nr: relu\nb: bn\n")
    assert got["r"] == got["b"] == got["c1"] == rf(3, 1, 1.5)


def test_lenet5():
    got = fields(
        """
        input 32x32x1
        c1: conv 6 k=5
        s2: maxpool k=2
        c3: conv 16 k=5
        s4: maxpool k=2
        """
    )
    assert got["c1"] == rf(1 + (5 - 1) * 1, 1, 0.5 + (5 - 1) / 2 * 1)  # 5, 1, 2.5
    assert got["s2"] == rf(5 + (2 - 1) * 1, 1 * 2, 2.5 + (2 - 1) / 2 * 1)  # 6, 2, 3.0
    assert got["c3"] == rf(6 + (5 - 1) * 2, 2, 3.0 + (5 - 1) / 2 * 2)  # 14, 2, 7.0
    assert got["s4"] == rf(14 + (2 - 1) * 2, 2 * 2, 7.0 + (2 - 1) / 2 * 2)  # 16, 4, 8.0


def test_alexnet_caffe_pool5_sees_195_pixels():
    # AlexNet as seed 003 lays it out (Caffe, 227x227x3); pool5's field of 195 pixels is the figure
    # usually quoted for AlexNet.
    got = fields(
        """
        input 227x227x3
        conv1: conv 96 k=11 s=4
        pool1: maxpool k=3 s=2
        norm1: lrn
        conv2: conv 256 k=5 p=2 g=2
        pool2: maxpool k=3 s=2
        conv3: conv 384 k=3 p=1
        conv4: conv 384 k=3 p=1 g=2
        conv5: conv 256 k=3 p=1 g=2
        pool5: maxpool k=3 s=2
        """
    )
    assert got["conv1"] == rf(1 + (11 - 1) * 1, 1 * 4, 0.5 + (11 - 1) / 2 * 1)  # 11, 4, 5.5
    assert got["pool1"] == rf(11 + (3 - 1) * 4, 4 * 2, 5.5 + (3 - 1) / 2 * 4)  # 19, 8, 9.5
    assert got["norm1"] == got["pool1"]
    assert got["conv2"] == rf(19 + (5 - 1) * 8, 8, 9.5 + ((5 - 1) / 2 - 2) * 8)  # 51, 8, 9.5
    assert got["pool2"] == rf(51 + (3 - 1) * 8, 8 * 2, 9.5 + (3 - 1) / 2 * 8)  # 67, 16, 17.5
    assert got["conv3"] == rf(67 + (3 - 1) * 16, 16, 17.5 + ((3 - 1) / 2 - 1) * 16)  # 99, 16, 17.5
    assert got["conv4"] == rf(99 + (3 - 1) * 16, 16, 17.5)  # 131
    assert got["conv5"] == rf(131 + (3 - 1) * 16, 16, 17.5)  # 163
    assert got["pool5"] == rf(163 + (3 - 1) * 16, 16 * 2, 17.5 + (3 - 1) / 2 * 16)  # 195, 32, 33.5


# --- dilation -------------------------------------------------------------------------------
# seed 001: R_L = R_{L-1} + (k_L - 1) * d_L * prod_{i<L} s_i, i.e. R_L = 1 + sum_l (k_l - 1) d_l prod_{i<l} s_i.
# (The seed's closed form writes prod_{i=1}^{L-l}; unrolling its own recursion gives prod_{i<l}.)


def test_dilated_stack_grows_exponentially():
    # Yu & Koltun 2016 (dilated convolutions, context module): 3x3 layers with dilations 1, 2, 4
    # give fields 3, 7, 15.
    got = fields(
        """
        input 32x32x1
        d1: conv 1 k=3 d=1
        d2: conv 1 k=3 d=2
        d4: conv 1 k=3 d=4
        """
    )
    assert got["d1"] == rf(1 + (3 - 1) * 1 * 1, 1, 0.5 + (1 * (3 - 1)) / 2)  # 3, start 1.5
    assert got["d2"] == rf(3 + (3 - 1) * 2 * 1, 1, 1.5 + (2 * (3 - 1)) / 2)  # 7, start 3.5
    assert got["d4"] == rf(7 + (3 - 1) * 4 * 1, 1, 3.5 + (4 * (3 - 1)) / 2)  # 15, start 7.5


def test_dilation_after_stride_seed001_recursion():
    got = fields(
        """
        input 64x64x1
        l1: conv 1 k=3
        l2: conv 1 k=3 s=2
        l3: conv 1 k=3 d=2
        l4: conv 1 k=3 d=4 p=same
        """
    )
    # R_1 = 1 + (3 - 1)*1*1 = 3;  R_2 = 3 + (3 - 1)*1*1 = 5
    # R_3 = 5 + (3 - 1)*2*(1*2) = 13;  R_4 = 13 + (3 - 1)*4*2 = 29
    assert got["l1"] == rf(1 + (3 - 1) * 1 * 1, 1, 0.5 + 1.0)  # 3, 1, 1.5
    assert got["l2"] == rf(3 + (3 - 1) * 1 * 1, 1 * 2, 1.5 + 1.0)  # 5, 2, 2.5
    assert got["l3"] == rf(5 + (3 - 1) * 2 * (1 * 2), 2, 2.5 + (2 * (3 - 1) / 2 - 0) * 2)  # 13, 2, 6.5
    # p=same with d=4: pads 4*(3 - 1) = 8, 4 before: the centre does not move
    assert got["l4"] == rf(13 + (3 - 1) * 4 * (1 * 2 * 1), 2, 6.5 + (4 * (3 - 1) / 2 - 4) * 2)  # 29, 2, 6.5
    assert got["l4"]["size"] == 1 + (3 - 1) * 1 * 1 + (3 - 1) * 1 * 1 + (3 - 1) * 2 * 2 + (3 - 1) * 4 * 2


# --- asymmetric kernels and strides ----------------------------------------------------------


def test_asymmetric_kernel_and_stride_report_w_apart():
    got = fields(
        """
        input 32x32x1
        a: conv 1 k=3x5 s=1x2
        b: conv 1 k=3
        """
    )
    assert got["a"] == {
        **rf(1 + (3 - 1) * 1, 1 * 1, 0.5 + (3 - 1) / 2 * 1),  # H: 3, 1, 1.5
        "size_w": 1 + (5 - 1) * 1,  # 5
        "jump_w": 1 * 2,
        "start_w": 0.5 + (5 - 1) / 2 * 1,  # 2.5
    }
    assert got["b"] == {
        **rf(3 + (3 - 1) * 1, 1, 1.5 + (3 - 1) / 2 * 1),  # H: 5, 1, 2.5
        "size_w": 5 + (3 - 1) * 2,  # 9
        "jump_w": 2,
        "start_w": 2.5 + (3 - 1) / 2 * 2,  # 4.5
    }


def test_asymmetric_stride_alone_reports_w():
    # same size both ways, but the jump differs along W
    got = fields("input 32x32x1\na: conv 1 k=3 s=2x1\nb: conv 1 k=3\n")
    assert got["a"] == {**rf(3, 2, 1.5), "size_w": 3, "jump_w": 1, "start_w": 1.5}
    assert got["b"] == {**rf(3 + (3 - 1) * 2, 2, 1.5 + 1 * 2), "size_w": 3 + (3 - 1) * 1, "jump_w": 1, "start_w": 2.5}


def test_symmetric_field_has_no_w_keys():
    assert set(fields("input 32x32x1\na: conv 1 k=3 s=2\n")["a"]) == {"size", "jump", "start"}


# --- transposed convolution ------------------------------------------------------------------


def test_transposed_conv_undoes_a_strided_conv():
    got = fields(
        """
        input 16x16x1
        down: conv 1 k=4 s=2 p=1
        up: convT 1 k=4 s=2 p=1
        after: conv 1 k=3 p=1
        """
    )
    assert got["down"] == rf(1 + (4 - 1) * 1, 1 * 2, 0.5 + ((4 - 1) / 2 - 1) * 1)  # 4, 2, 1.0
    # size 4 + floor((4 - 1)/2)*2 = 6; jump 2/2 = 1; start 1.0 + 2*(1 - (4 - 1)/2)/2 = 0.5
    assert got["up"] == rf(4 + (4 - 1) // 2 * 2, 2 // 2, 1.0 + 2 * (1 - (4 - 1) / 2) / 2)
    assert got["after"] == rf(6 + (3 - 1) * 1, 1, 0.5 + ((3 - 1) / 2 - 1) * 1)  # 8, 1, 0.5


def test_transposed_conv_on_the_input_has_a_half_pixel_jump():
    got = fields("input 8x8x1\nup: convT 1 k=3 s=2\nc: conv 1 k=3 p=1\n")
    # size 1 + floor((3 - 1)/2)*1 = 2; jump 1/2; start 0.5 + 1*(0 - (3 - 1)/2)/2 = 0.0
    assert got["up"] == rf(1 + (3 - 1) // 2 * 1, 1 / 2, 0.5 + 1 * (0 - (3 - 1) / 2) / 2)
    # then a 3x3 conv on half-pixel steps: 2 + (3 - 1)*0.5 = 3
    assert got["c"] == rf(2 + (3 - 1) * 0.5, 0.5, 0.0 + ((3 - 1) / 2 - 1) * 0.5)


# --- merges ----------------------------------------------------------------------------------

TWO_BRANCHES = """
input 32x32x1
a1: conv 1 k=2 p=same
a2: conv 1 k=2 p=same
b: conv 1 k=3 p=1 from=input
m: {op} from=a2,b
after: conv 1 k=3 p=1
"""


def test_branches_before_the_merge():
    got = fields(TWO_BRANCHES.format(op="add"))
    # k=2 same pads 0 before, 1 after: start moves by (2 - 1)/2 - 0 = 0.5 each time
    assert got["a1"] == rf(1 + (2 - 1) * 1, 1, 0.5 + ((2 - 1) / 2 - 0) * 1)  # 2, covers [0, 2)
    assert got["a2"] == rf(2 + (2 - 1) * 1, 1, 1.0 + ((2 - 1) / 2 - 0) * 1)  # 3, covers [0, 3)
    assert got["b"] == rf(1 + (3 - 1) * 1, 1, 0.5 + ((3 - 1) / 2 - 1) * 1)  # 3, covers [-1, 2)


def test_add_takes_the_union_of_the_branches():
    got = fields(TWO_BRANCHES.format(op="add"))
    # a2 covers [1.5 - 3/2, 1.5 + 3/2) = [0, 3), b covers [0.5 - 3/2, 0.5 + 3/2) = [-1, 2).
    # The union is [-1, 3): size 3 - (-1) = 4, centre (-1 + 3)/2 = 1.0; larger than either branch.
    assert got["m"] == rf(3 - (-1), 1, (-1 + 3) / 2)
    assert got["after"] == rf(4 + (3 - 1) * 1, 1, 1.0 + ((3 - 1) / 2 - 1) * 1)  # 6, 1, 1.0


def test_concat_takes_the_union_of_the_branches():
    got = fields(TWO_BRANCHES.format(op="concat"))
    assert got["m"] == rf(3 - (-1), 1, (-1 + 3) / 2)


def test_inception_concat_is_its_widest_branch():
    got = fields(
        """
        input 28x28x256
        a: conv 128 k=1
        b: conv 192 k=3 p=1 from=input
        c: conv 96 k=5 p=2 from=input
        d: maxpool k=3 s=1 p=1 from=input
        m: concat from=a,b,c,d
        """
    )
    # all four are centred on pixel 0 (start 0.5); the 5x5 branch covers the others
    assert got["a"] == rf(1, 1, 0.5)
    assert got["b"] == rf(3, 1, 0.5 + ((3 - 1) / 2 - 1))
    assert got["c"] == rf(5, 1, 0.5 + ((5 - 1) / 2 - 2))
    assert got["m"] == rf(1 + (5 - 1) * 1, 1, 0.5)


def test_residual_with_a_strided_shortcut():
    got = fields(
        """
        input 32x32x1
        c1: conv 1 k=3 s=2 p=1
        c2: conv 1 k=3 p=1
        sc: conv 1 k=1 s=2 from=input
        m: add from=c2,sc
        """
    )
    assert got["c1"] == rf(3, 2, 0.5)
    assert got["c2"] == rf(3 + (3 - 1) * 2, 2, 0.5)  # 7, covers [-3, 4)
    assert got["sc"] == rf(1, 2, 0.5)  # covers [0, 1), inside c2's field
    assert got["m"] == rf(7, 2, 0.5)


# --- global fields and the report ------------------------------------------------------------


def test_global_pool_sees_everything():
    got = fields("input 7x7x8\nc: conv 8 k=3 p=1\ng: gap\nh: conv 4 k=1\n")
    assert got["g"] == {"global": True}
    assert got["h"] == {"global": True}  # a 1x1 conv after global pooling still sees the whole input


def test_rf_in_the_json_report():
    model = cnncalc.load("input 32x32x1\nc1: conv 6 k=5\n")
    row = next(r for r in model.to_dict()["layers"] if r["name"] == "c1")
    assert row["rf"] == rf(5, 1, 2.5)
