"""Vision Transformers (ViT-B/16, B/32, L/16, L/32, H/14) as torchvision builds them."""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry


def vit(name: str, image: int, patch: int, layers: int, heads: int, dim: int, mlp: int) -> Graph:
    """Patch embedding (a PxP stride-P conv), class token, position embedding, pre-norm encoder blocks, head.

    Layer names are torchvision's module paths; nn.MultiheadAttention keeps its input projection as two
    tensors of its own (in_proj_weight 3D x D, in_proj_bias 3D), shown here as the layer `self_attention.in_proj`.
    """
    tokens = (image // patch) ** 2
    b = Builder(name)
    b.input(f"{image}x{image}x3")
    b.add("conv", dim, k=patch, s=patch, name="conv_proj")
    patches = b.add("reshape", f"{tokens}x{dim}", name="reshape")
    cls = b.add("param", f"1x{dim}", name="class_token")
    joined = b.add("concat", inputs=[cls, patches], axis=0, name="cat")
    pos = b.add("param", f"{tokens + 1}x{dim}", name="encoder.pos_embedding")
    b.add("add", inputs=[joined, pos], name="encoder.add")
    for i in range(layers):
        p = f"encoder.layers.encoder_layer_{i}"
        x = b.last
        b.add("layernorm", name=f"{p}.ln_1")
        b.add("fc", 3 * dim, name=f"{p}.self_attention.in_proj")
        b.add("attention", heads=heads, qkv=True, name=f"{p}.self_attention")
        b.add("fc", dim, name=f"{p}.self_attention.out_proj")
        x = b.add("add", inputs=[b.last, x], name=f"{p}.add_1")
        b.add("layernorm", name=f"{p}.ln_2")
        b.add("fc", mlp, name=f"{p}.mlp.0")
        b.add("gelu", name=f"{p}.mlp.1")
        b.add("fc", dim, name=f"{p}.mlp.3")
        b.add("add", inputs=[x, b.last], name=f"{p}.add_2")
    b.add("layernorm", name="encoder.ln")
    # x[:, 0]: only the class token goes on to the head.
    b.add("slice", "0:1", axis=0, name="class_output")
    b.add("flatten", name="flatten")
    b.add("fc", 1000, name="heads.head")
    return b.build()


# name: (patch, layers, heads, hidden dim, MLP dim, image side), from torchvision.models.vision_transformer.
# vit_h_14 at 518: torchvision's published figures are for its 518x518 (SWAG) weights.
_CONFIGS: dict[str, tuple[int, int, int, int, int, int]] = {
    "vit_b_16": (16, 12, 12, 768, 3072, 224),
    "vit_b_32": (32, 12, 12, 768, 3072, 224),
    "vit_l_16": (16, 24, 16, 1024, 4096, 224),
    "vit_l_32": (32, 24, 16, 1024, 4096, 224),
    "vit_h_14": (14, 32, 16, 1280, 5120, 518),
}


def _register(name: str, patch: int, layers: int, heads: int, dim: int, mlp: int, image: int) -> None:
    size = {"b": "Base", "l": "Large", "h": "Huge"}[name.split("_")[1]]
    entry(
        name,
        f"ViT-{size[0]}/{patch} (torchvision): {layers} blocks of {heads} heads, width {dim}, at {image}x{image}",
        f"Dosovitskiy et al., An Image is Worth 16x16 Words, ICLR 2021 (arXiv:2010.11929); torchvision.models.{name}",
    )(lambda: vit(name, image, patch, layers, heads, dim, mlp))


for _name, (_patch, _layers, _heads, _dim, _mlp, _image) in _CONFIGS.items():
    _register(_name, _patch, _layers, _heads, _dim, _mlp, _image)
