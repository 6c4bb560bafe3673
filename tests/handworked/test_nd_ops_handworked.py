"""Tensors of any rank, worked by hand: 1-D signals, volumes and video, tokens, attention, free tensors.

Every expected figure is written out as arithmetic in the test; PyTorch checks the same ops in `torch_oracle/`.
"""

from __future__ import annotations

import json

import pytest

import cnncalc
from cnncalc.errors import CnnCalcError


def layer(spec: str, name: str):  # type: ignore[no-untyped-def]
    return cnncalc.load(spec).layer(name)


def test_spec_v1_shapes_read_as_before() -> None:
    model = cnncalc.load("input 224x224x3\nconv 64 k=7 s=2 p=3\nflatten\nfc 10\n")
    assert model.layer("conv1").output.dims() == [112, 112, 64]
    assert model.layer("flatten1").output.dims() == [112 * 112 * 64]
    assert model.layer("fc1").output.dims() == [10]


def test_one_d_signal() -> None:
    # 16,000 samples, conv 32 k=80 s=4: (16000 - 80)/4 + 1 = 3981; params 80*1*32 + 32; MACs 3981*32*80*1.
    conv = layer("input 16000x1\nc: conv 32 k=80 s=4\n", "c")
    assert conv.output.dims() == [3981, 32]
    assert conv.params == 80 * 1 * 32 + 32
    assert conv.macs == 3981 * 32 * 80
    assert conv.rf is not None and conv.rf.to_dict() == {"size": 80, "jump": 4, "start": 40.0}


def test_three_d_conv_and_pool_on_video() -> None:
    # r3d_18's stem: 16x112x112x3, conv 64 k=3x7x7 s=1x2x2 p=1x3x3.
    # D: (16 + 2 - 3)/1 + 1 = 16; H = W: (112 + 6 - 7)/2 + 1 = 56 (55.5 floored + 1 = 56).
    spec = "input 16x112x112x3\nstem: conv 64 k=3x7x7 s=1x2x2 p=1x3x3 bias=false\npool: maxpool k=3 s=2 p=1\n"
    model = cnncalc.load(spec)
    stem = model.layer("stem")
    assert stem.output.dims() == [16, 56, 56, 64]
    assert stem.params == 3 * 7 * 7 * 3 * 64
    assert stem.macs == 16 * 56 * 56 * 64 * 3 * 7 * 7 * 3
    # maxpool 3x3x3/2 p=1: (16 + 2 - 3)//2 + 1 = 8; (56 + 2 - 3)//2 + 1 = 28.
    assert model.layer("pool").output.dims() == [8, 28, 28, 64]
    rf = model.layer("pool").rf
    assert rf is not None
    # Depth: 3, then 3 + (3 - 1)*1 = 5, jump 2; H: 7, then 7 + 2*2 = 11, jump 4. Centres: each window's
    # half-width equals its padding ((7-1)/2 = 3, (3-1)/2 = 1), so unit 0 stays centred on pixel 0, at 0.5.
    assert rf.to_dict() == {"size": 11, "jump": 4, "start": 0.5, "size_d": 5, "jump_d": 2, "start_d": 0.5}
    assert model.to_dict()["layers"][1]["output_shape"] == [16, 56, 56, 64]


def test_layout_chw_writes_channels_first_at_any_rank() -> None:
    model = cnncalc.load("input 16x112x112x3\nconv 8 k=3 p=1\n", layout="chw")
    assert model.to_dict()["layers"][1]["output_shape"] == [8, 16, 112, 112]


def test_fc_on_tokens_and_attention() -> None:
    spec = "input 197x768\nqkv: fc 2304\nattn: attention heads=12 qkv=true\nproj: fc 768\n"
    model = cnncalc.load(spec)
    qkv, attn = model.layer("qkv"), model.layer("attn")
    assert qkv.output.dims() == [197, 2304] and qkv.params == 768 * 2304 + 2304 and qkv.macs == 197 * 768 * 2304
    # QK^T: 12 heads x 197 x 197 x 64; AV the same.
    assert attn.output.dims() == [197, 768] and attn.params == 0
    assert attn.macs == 2 * 12 * 197 * 197 * 64
    assert attn.rf is not None and attn.rf.whole


def test_attention_from_q_k_v_of_other_lengths() -> None:
    # Cross-attention: 10 queries of 64, 50 keys of 64, 50 values of 32, 4 heads: 4*10*50*16 + 4*10*50*8.
    spec = "q: input 10x64\nk: input 50x64\nv: input 50x32\na: attention heads=4 from=q,k,v\n"
    a = layer(spec, "a")
    assert a.output.dims() == [10, 32]
    assert a.macs == 4 * 10 * 50 * 16 + 4 * 10 * 50 * 8


def test_matmul_batched_and_transposed() -> None:
    # 12 heads of 197x64 times their transposes: 12*197*64*197; then by 12 of 197x64: 12*197*197*64.
    spec = "q: input 12*197x64\nk: input 12*197x64\ns: matmul bt=true from=q,k\no: matmul from=s,k\n"
    model = cnncalc.load(spec)
    s, o = model.layer("s"), model.layer("o")
    assert s.output.lead == (12,) and s.output.dims() == [197, 197]
    assert s.macs == 12 * 197 * 64 * 197
    assert o.output.dims() == [197, 64] and o.macs == 12 * 197 * 197 * 64
    assert model.to_dict()["layers"][2]["lead"] == [12]


def test_matmul_mismatch_names_both_inputs() -> None:
    with pytest.raises(CnnCalcError, match=r"a gives 4x8 \(8 columns\), b gives 5x3 \(5 rows"):
        cnncalc.load("a: input 4x8\nb: input 5x3\nm: matmul from=a,b\n")


def test_class_token_and_position_embedding() -> None:
    spec = (
        "input 196x768\ncls: param 1x768\nseq: concat axis=0 from=cls,input\npos: param 197x768\n"
        "x: add from=seq,pos\nfirst: slice 0:1 axis=0\n"
    )
    model = cnncalc.load(spec)
    assert model.layer("cls").params == 768 and model.layer("pos").params == 197 * 768
    assert model.layer("seq").output.dims() == [197, 768]
    assert model.layer("first").output.dims() == [1, 768]
    assert model.totals.params == 768 + 197 * 768


def test_param_as_buffer() -> None:
    index = layer("input 8\nidx: param 49x49x1 buffer=true\n", "idx")
    assert index.params == 0 and index.buffers == 49 * 49


def test_layernorm_rmsnorm_groupnorm_instancenorm() -> None:
    model = cnncalc.load(
        "input 14x14x96\nln: layernorm\nln2: layernorm n=3\nrms: rmsnorm\ngn: groupnorm g=32\nin: instancenorm\n"
        "in2: instancenorm affine=true track=true\nl2: l2norm\n"
    )
    assert model.layer("ln").params == 2 * 96
    assert model.layer("ln2").params == 2 * 14 * 14 * 96
    assert model.layer("rms").params == 96
    assert model.layer("gn").params == 2 * 96 and model.layer("gn").buffers == 0
    assert model.layer("in").params == 0 and model.layer("in").buffers == 0
    assert model.layer("in2").params == 2 * 96 and model.layer("in2").buffers == 2 * 96
    l2 = model.layer("l2")  # x / max(||x||, eps): nothing learnt, nothing counted
    assert l2.params == 0 and l2.buffers == 0 and l2.macs == 0 and l2.output.dims() == [14, 14, 96]


def test_permute_and_reshape_with_lead_axes() -> None:
    # Swin's window partition: a 56x56x96 map in 8x8 = 64 windows of 7x7 = 49 tokens.
    model = cnncalc.load("input 56x56x96\nw: reshape 64*49x96\nt: permute 1,0\n")
    w, t = model.layer("w"), model.layer("t")
    assert w.output.lead == (64,) and w.output.dims() == [49, 96]
    assert t.output.dims() == [96, 49] and t.output.lead == (64,)


def test_fc_on_windows_repeats_over_lead_axes() -> None:
    fc = layer("input 64*49x96\nqkv: fc 288\n", "qkv")
    assert fc.macs == 64 * 49 * 96 * 288 and fc.params == 96 * 288 + 288


def test_fc_pointwise_on_a_channels_last_map() -> None:
    fc = layer("input 56x56x96\npw: fc 384 pointwise=true\n", "pw")
    assert fc.output.dims() == [56, 56, 384] and fc.macs == 56 * 56 * 96 * 384


def test_fc_on_a_map_still_asks_for_flatten() -> None:
    with pytest.raises(CnnCalcError, match="add a `flatten` layer before it"):
        cnncalc.load("input 7x7x512\nfc 4096\n")


def test_asymmetric_pad_then_conv_as_tf_same() -> None:
    # TF "same" at stride 2 on 224 with k=3: output 112, total padding (112 - 1)*2 + 3 - 224 = 1: 0 before, 1 after.
    model = cnncalc.load("input 224x224x3\npad 0,1,0,1\nc: conv 32 k=3 s=2\n")
    assert model.layer("pad1").output.dims() == [225, 225, 3]
    assert model.layer("c").output.dims() == [112, 112, 32]


def test_upsample_trilinear_and_adaptive_pool_3d() -> None:
    model = cnncalc.load("input 8x28x28x64\nu: upsample scale=2 mode=trilinear\na: adaptiveavgpool 1x1x1\n")
    assert model.layer("u").output.dims() == [16, 56, 56, 64]
    assert model.layer("a").output.dims() == [1, 1, 1, 64]


def test_kernel_with_the_wrong_number_of_axes_says_what_fits() -> None:
    with pytest.raises(CnnCalcError, match=r"k=3x5 gives 2 sizes, but the input has 3 axes: write DxHxW"):
        cnncalc.load("input 16x112x112x3\nconv 8 k=3x5\n")


def test_volume_too_small_for_its_kernel() -> None:
    with pytest.raises(CnnCalcError, match=r"kernel 3x7x7 is larger than its 2x112x112 input"):
        cnncalc.load("input 2x112x112x3\nconv 8 k=3x7x7\n")


def test_input_override_of_another_rank_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("show", "resnet18", "--input", "12x12")
    assert result.returncode == 2
    assert "takes HxWxC (an image)" in result.stderr and "12x12 reads as LxC" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_report_of_a_video_network(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("show", "-", "--format", "json", stdin="input 4x8x8x3\nconv 2 k=3 p=1\n")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["input"] == [4, 8, 8, 3]
    assert report["layers"][1]["macs"] == 4 * 8 * 8 * 2 * 27 * 3
