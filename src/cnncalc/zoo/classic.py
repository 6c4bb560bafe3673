"""The early networks: LeNet-5, AlexNet (torchvision's, the paper's and CaffeNet's), ZFNet, and a course homework's pose
network."""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry


@entry(
    "lenet5",
    "LeNet-5 as taught today: full C3, tanh, average pooling (61,706 params)",
    "LeCun et al. 1998 layer sizes with every C3 map connected to every S2 map; the common textbook version",
)
def lenet5() -> Graph:
    b = Builder("lenet5")
    b.input("32x32x1")
    b.add("conv", 6, k=5, name="c1")
    b.add("tanh")
    b.add("avgpool", k=2, name="s2")
    b.add("conv", 16, k=5, name="c3")
    b.add("tanh")
    b.add("avgpool", k=2, name="s4")
    b.add("flatten")
    b.add("fc", 120, name="c5")
    b.add("tanh")
    b.add("fc", 84, name="f6")
    b.add("tanh")
    b.add("fc", 10, name="output")
    return b.build()


@entry(
    "alexnet",
    "AlexNet as torchvision ships it: single tower, 64/192/384/256/256 channels",
    "torchvision.models.alexnet (Krizhevsky 2014, 'One weird trick'); 61,100,840 params",
)
def alexnet() -> Graph:
    b = Builder("alexnet")
    b.input("224x224x3")
    b.add("conv", 64, k=11, s=4, p=2, name="conv1")
    b.add("relu", inplace=True)
    b.add("maxpool", k=3, s=2, name="pool1")
    b.add("conv", 192, k=5, p=2, name="conv2")
    b.add("relu", inplace=True)
    b.add("maxpool", k=3, s=2, name="pool2")
    b.add("conv", 384, k=3, p=1, name="conv3")
    b.add("relu", inplace=True)
    b.add("conv", 256, k=3, p=1, name="conv4")
    b.add("relu", inplace=True)
    b.add("conv", 256, k=3, p=1, name="conv5")
    b.add("relu", inplace=True)
    b.add("maxpool", k=3, s=2, name="pool5")
    b.add("adaptiveavgpool", "6x6", name="avgpool")
    b.add("flatten")
    _classifier(b, 4096, 1000, dropout_first=True)
    return b.build()


def _classifier(b: Builder, width: int, classes: int, *, dropout_first: bool) -> None:
    """fc6 and fc7 with ReLU and dropout, then fc8: torchvision drops before, Caffe after."""
    for name in ("fc6", "fc7"):
        if dropout_first:
            b.add("dropout", name=f"drop{name[2]}")
        b.add("fc", width, name=name)
        b.add("relu", inplace=dropout_first, name=f"relu{name[2]}")  # torchvision's are in place
        if not dropout_first:
            b.add("dropout", name=f"drop{name[2]}")
    b.add("fc", classes, name="fc8")


_CAFFENET_SOURCE = (
    "Caffe models/bvlc_reference_caffenet (pool1 before norm1, pool2 before norm2), the order many courses work "
    "layer by layer; layer sizes of Krizhevsky, Sutskever, Hinton 2012; 60,965,224 params"
)


@entry(
    "caffenet",
    "CaffeNet: AlexNet's layers with each max pool before its LRN; 227x227, two towers (groups=2 in conv2/4/5)",
    _CAFFENET_SOURCE,
)
def caffenet() -> Graph:
    return _alexnet_caffe("caffenet", norm_first=False)


@entry(
    "alexnet_caffe",
    "the same network as caffenet (pool before LRN), under the name earlier versions gave it",
    _CAFFENET_SOURCE,
)
def alexnet_caffe() -> Graph:
    return _alexnet_caffe("alexnet_caffe", norm_first=False)


@entry(
    "alexnet_2012",
    "AlexNet in the paper's order: each LRN before its max pool; 227x227, two towers (groups=2 in conv2/4/5)",
    "Krizhevsky, Sutskever, Hinton, NeurIPS 2012, Sec. 3.3-3.5; Caffe models/bvlc_alexnet/deploy.prototxt "
    "(norm1 before pool1, norm2 before pool2); 60,965,224 params",
)
def alexnet_2012() -> Graph:
    return _alexnet_caffe("alexnet_2012", norm_first=True)


def _alexnet_caffe(name: str, *, norm_first: bool) -> Graph:
    """AlexNet as Caffe defines it. The paper normalises before pooling; CaffeNet pools first, which leaves
    params, MACs and every conv's shape as they are and makes each LRN work on the pooled, smaller map."""
    b = Builder(name)
    b.input("227x227x3")
    b.add("conv", 96, k=11, s=4, name="conv1")
    b.add("relu", name="relu1")
    for i in (1, 2):
        if norm_first:
            b.add("lrn", size=5, name=f"norm{i}")
            b.add("maxpool", k=3, s=2, name=f"pool{i}")
        else:
            b.add("maxpool", k=3, s=2, name=f"pool{i}")
            b.add("lrn", size=5, name=f"norm{i}")
        if i == 1:
            b.add("conv", 256, k=5, p=2, g=2, name="conv2")
            b.add("relu", name="relu2")
    b.add("conv", 384, k=3, p=1, name="conv3")
    b.add("relu", name="relu3")
    b.add("conv", 384, k=3, p=1, g=2, name="conv4")
    b.add("relu", name="relu4")
    b.add("conv", 256, k=3, p=1, g=2, name="conv5")
    b.add("relu", name="relu5")
    b.add("maxpool", k=3, s=2, name="pool5")
    b.add("flatten")
    _classifier(b, 4096, 1000, dropout_first=False)
    return b.build()


@entry(
    "zfnet",
    "ZFNet (Zeiler & Fergus 2014): 7x7/2 first layer, 224 input, Caffe-style ceil pooling",
    "Zeiler & Fergus, 'Visualizing and Understanding Convolutional Networks', ECCV 2014, Fig. 3",
)
def zfnet() -> Graph:
    # Fig. 3 draws 224 -> 110 -> 55 -> 26 -> 13 -> 13 -> 13 -> 13 -> 6. Padding 1 in conv1 and
    # ceil-mode pooling (Caffe's default) are what reproduce those sizes.
    b = Builder("zfnet")
    b.input("224x224x3")
    b.add("conv", 96, k=7, s=2, p=1, name="conv1")
    b.add("relu", name="relu1")
    b.add("maxpool", k=3, s=2, ceil=True, name="pool1")
    b.add("lrn", name="norm1")
    b.add("conv", 256, k=5, s=2, name="conv2")
    b.add("relu", name="relu2")
    b.add("maxpool", k=3, s=2, ceil=True, name="pool2")
    b.add("lrn", name="norm2")
    b.add("conv", 384, k=3, p=1, name="conv3")
    b.add("relu", name="relu3")
    b.add("conv", 384, k=3, p=1, name="conv4")
    b.add("relu", name="relu4")
    b.add("conv", 256, k=3, p=1, name="conv5")
    b.add("relu", name="relu5")
    b.add("maxpool", k=3, s=2, ceil=True, name="pool5")
    b.add("flatten")
    _classifier(b, 4096, 1000, dropout_first=False)
    return b.build()


@entry(
    "posenet",
    "the pose network of a course homework: 3 conv/pool stages, three FC heads",
    "a pose-estimation homework: 6,260,320 weights without biases (cnncalc show posenet --no-bias)",
)
def posenet() -> Graph:
    b = Builder("posenet")
    b.input("112x112x3")
    for i, k in enumerate((9, 5, 5), start=1):
        b.add("conv", 32, k=k, name=f"conv{i}")
        b.add("relu", name=f"relu{i}")
        b.add("maxpool", k=2, name=f"pool{i}")
    flat = b.add("flatten", name="flat")
    for head, out in (("pd", 448), ("jd", 512), ("jr", 16)):
        b.add("fc", 512, name=f"{head}1", inputs=flat)
        b.add("relu", name=f"{head}1_relu")
        b.add("fc", 512, name=f"{head}2")
        b.add("relu", name=f"{head}2_relu")
        b.add("fc", out, name=head)
    return b.build()


# LeNet-5's Table I: the S2 maps each C3 map reads. Maps 0-5 read 3 neighbours, 6-11 read 4 neighbours,
# 12-14 read 4 non-neighbours, 15 reads all six.
LENET_C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


@entry(
    "lenet5_1998",
    "LeNet-5 as published: C3's partial connection table, trainable subsampling, fixed RBF output (60,000 params)",
    "LeCun, Bottou, Bengio, Haffner 1998, 'Gradient-based learning applied to document recognition', Sec. II-B, "
    "Table I",
)
def lenet5_1998() -> Graph:
    b = Builder("lenet5_1998")
    b.input("32x32x1")
    b.add("conv", 6, k=5, name="c1")
    # Subsampling: the sum of 2x2 inputs times a trainable coefficient plus a trainable bias, per map.
    b.add("avgpool", k=2, name="s2.pool")
    b.add("scale", bias=True, name="s2")
    s2 = b.add("tanh", name="s2.squash")
    maps = []
    for j, picks in enumerate(LENET_C3_TABLE):
        b.add("slice", ",".join(map(str, picks)), inputs=s2, name=f"c3.in{j}")
        maps.append(b.add("conv", 1, k=5, name=f"c3.map{j}"))
    b.add("concat", inputs=maps, name="c3")
    b.add("tanh", name="c3.squash")
    b.add("avgpool", k=2, name="s4.pool")
    b.add("scale", bias=True, name="s4")
    b.add("tanh", name="s4.squash")
    b.add("conv", 120, k=5, name="c5")
    b.add("tanh", name="c5.squash")
    b.add("flatten")
    b.add("fc", 84, name="f6")
    b.add("tanh", name="f6.squash")
    b.add("rbf", 10, name="output")
    return b.build()
