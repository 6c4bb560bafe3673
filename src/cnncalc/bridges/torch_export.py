"""Export a cnncalc Graph to PyTorch: a readable Python file defining one `nn.Module` class.

`torch_source` writes the file as text and needs no torch. `to_torch` executes that same text and returns an
instance, so the file a user saves and the module cnncalc hands back can never differ.

Each layer becomes one line of `forward`, `x_<layer> = ...`, in the graph's order; layers with parameters or a
configuration are submodules named after the layer (`self.conv1 = nn.Conv2d(...)`), element-wise work (activations,
add, mul, concat, slice, reshape) is written inline. Sizes that PyTorch cannot work out by itself (TensorFlow's
`same` padding at a stride above 1) are fixed for the input size the graph was analysed at; the file says so where
it happens.

Layouts: cnncalc writes every tensor channels last (`LxC`, `HxWxC`, `DxHxWxC`, lead axes such as heads first). In the
file each tensor is held in one of two layouts, chosen by the layer that makes it: channels first, `(N, *lead, C,
*sizes)`, as PyTorch's convolutions, pools and batch norms take it (every map of a version-1 network), or channels
last, `(N, *lead, *sizes, C)`, the written order, as `nn.Linear`, matrix products, attention and reshapes take it
(tokens). A layer that needs the other layout moves the channels axis first (`movedim`); lead axes are folded into the
batch around the layers that take none. `tensor_layouts` says which layout each layer's output is held in.
"""

from __future__ import annotations

import hashlib
import keyword
import linecache
import re
import textwrap
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..errors import CnnCalcError
from ..formulas import same_padding
from ..ir import Graph, Node, Shape
from ..ops.base import fit, get_op
from ..passes import analyze
from ..report import Settings
from . import require_torch

if TYPE_CHECKING:
    from torch import nn

__all__ = ["CHANNELS_FIRST", "CHANNELS_LAST", "layer_identifiers", "tensor_layouts", "to_torch", "torch_source"]

CHANNELS_FIRST = "channels_first"  # (N, *lead, C, *sizes): PyTorch's convolutions, pools and norms
CHANNELS_LAST = "channels_last"  # (N, *lead, *sizes, C): the spec's own order; linear layers, products, attention

# Ops PyTorch runs on channels-first tensors (N, C, *sizes) and that take no lead axes (folded into the batch).
_WINDOW_OPS = frozenset(
    {
        "conv", "dwconv", "convT", "maxpool", "avgpool", "gap", "adaptiveavgpool", "adaptivemaxpool", "upsample",
        "bn", "groupnorm", "instancenorm", "lrn", "shuffle",
    }
)  # fmt: skip

# Attributes every nn.Module has (torch 2.x, and some it may add): a layer called `train` must not replace them.
_MODULE_ATTRIBUTES = frozenset(
    (
        "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile",
        "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer",
        "get_extra_state", "get_parameter", "get_submodule", "half", "hpu", "ipu", "load_state_dict", "modules",
        "mtia", "named_buffers", "named_children", "named_modules", "named_parameters", "npu", "parameters",
        "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook",
        "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook", "register_module", "register_parameter",
        "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state",
        "set_submodule", "share_memory", "state_dict", "to", "to_dense", "to_empty", "train", "training", "type",
        "xpu", "zero_grad",
    )
)  # fmt: skip

# Element-wise activations, written inline: cnncalc op -> the PyTorch call on `{x}`.
_ACTIVATIONS = {
    "relu": "F.relu({x})",
    "relu6": "F.relu6({x})",
    "sigmoid": "torch.sigmoid({x})",
    "tanh": "torch.tanh({x})",
    "hswish": "F.hardswish({x})",
    "softmax": "F.softmax({x}, dim=1)",
    "gelu": "F.gelu({x})",
    "silu": "F.silu({x})",
    "hsigmoid": "F.hardsigmoid({x})",
    "leakyrelu": "F.leaky_relu({x}, negative_slope=0.01)",
    "elu": "F.elu({x})",
    "identity": "{x}",
}

# Small modules PyTorch does not ship, written into the file when a layer needs them.
_HELPERS = {
    "LayerNorm2d": '''
class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels at each position of an (N, C, H, W) map (torchvision's ConvNeXt LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
''',
    "Scale": '''
class Scale(nn.Module):
    """A learnt factor per channel (layer scale), and a learnt shift per channel if bias=True."""

    def __init__(self, channels: int, bias: bool = False, vector: bool = False, axes: int = 2) -> None:
        super().__init__()
        # vector: (1, C), for vectors and channels-last tensors; else (1, C) and one 1 per axis after the channels.
        shape = (1, channels) if vector else (1, channels, *[1] * axes)
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight if self.bias is None else x * self.weight + self.bias
''',
    "EuclideanRBF": '''
class EuclideanRBF(nn.Module):
    """LeNet-5's output units: y_i = sum_j (x_j - w_ij)^2, the squared Euclidean distance to fixed vectors w_i.

    The vectors are not learnt: they are a buffer (saved in the state dict, not among the parameters). LeCun et al.
    drew them by hand as +1/-1 bitmaps; random +1/-1 values stand in for them here. The distance is expanded as
    |x|^2 - 2 x.w + |w|^2, so its in*out multiply-accumulates are one matrix product.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.register_buffer("centres", torch.randint(0, 2, (out_features, in_features)).float() * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.pow(2).sum(1, keepdim=True) - 2 * x @ self.centres.t() + self.centres.pow(2).sum(1)
''',
    "attend": '''
def attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Multi-head scaled dot-product attention on tokens (N, ..., L, C): the channels of q, k and v are split into
    `heads` heads, each head attends on its own (softmax(q k^T / sqrt(d) + mask) v), and the heads are put side by
    side again. The mask (a position bias) broadcasts against the logits (N, ..., heads, L_q, L_k)."""
    q, k, v = (t.unflatten(-1, (heads, -1)).transpose(-3, -2) for t in (q, k, v))  # (N, ..., heads, L, C / heads)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(-3, -2).flatten(-2)
''',
}
_TAKEN_GLOBALS = frozenset({"torch", "nn", "F", *_HELPERS})


@dataclass
class _Line:
    """What one node becomes: a submodule (maybe) and the expression of its output in `forward`."""

    expr: str
    module: str | None = None  # the constructor, e.g. nn.Conv2d(3, 64, kernel_size=3)
    notes: list[str] = field(default_factory=list)  # comments for the forward line
    module_note: str = ""  # a comment for the constructor line
    layout: str = CHANNELS_FIRST  # how the output is held
    init: str | None = None  # a whole __init__ statement instead of `self.<id> = module` (a parameter, a buffer)


@dataclass(frozen=True)
class _In:
    """One input of a layer: the expression that holds it in forward, its cnncalc shape and its layout."""

    var: str
    shape: Shape
    layout: str


def layer_identifiers(graph: Graph) -> dict[str, str]:
    """Each layer's name in the generated file: the submodule `self.<id>` and the variable `x_<id>` of `forward`.

    Names are made valid identifiers (`layer1.0.conv1` -> `layer1_0_conv1`), kept clear of keywords and of
    nn.Module's own attributes, and made unique with a suffix where two would meet.
    """
    taken: set[str] = set()
    out: dict[str, str] = {}
    for node in graph.sorted().nodes:  # in the order of the file, whatever order the graph was given in
        base = re.sub(r"\W", "_", node.name, flags=re.ASCII) or "layer"
        if base[0].isdigit():
            base = "layer_" + base
        elif base.startswith("_"):
            base = "layer" + base
        if keyword.iskeyword(base) or keyword.issoftkeyword(base) or base in _MODULE_ATTRIBUTES:
            base += "_"
        ident, n = base, 1
        while ident in taken:
            n += 1
            ident = f"{base}_{n}"
        taken.add(ident)
        out[node.name] = ident
    return out


def default_class_name(graph: Graph) -> str:
    """The graph's name in CamelCase: `mobilenet_v3_small` -> `MobilenetV3Small`."""
    words = re.findall(r"[A-Za-z0-9]+", graph.name)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Net"
    if name[0].isdigit():
        name = "Net" + name
    if keyword.iskeyword(name) or name in _TAKEN_GLOBALS:
        name += "Net"
    return name


def _check_class_name(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise CnnCalcError(f"class name {name!r} is not a Python identifier")
    if name in _TAKEN_GLOBALS:
        raise CnnCalcError(f"class name {name!r} is taken by the generated file itself; choose another")
    return name


# ----------------------------------------------------------------------------- writing the file


@dataclass
class _Plan:
    """What each layer becomes in the file, and how its output is held."""

    report: Any
    shapes: dict[str, Shape]
    training_only: set[str]
    ids: dict[str, str]
    var: dict[str, str]
    layouts: dict[str, str]
    lines: dict[str, _Line]


def _plan(graph: Graph) -> _Plan:
    """Translate every layer in order; raises CnnCalcError for a layer PyTorch cannot be given."""
    report = analyze(graph, Settings())
    shapes = {layer.name: layer.output for layer in report.layers}
    training_only = {layer.name for layer in report.layers if layer.aux}
    ids = layer_identifiers(graph)
    var = {n: "x_" + i for n, i in ids.items()}
    readers: dict[str, set[str]] = {}
    for node in graph.nodes:
        for i in node.inputs:
            readers.setdefault(i, set()).add(get_op(node.op).name)
    # `param` layers have no input to take the batch size from: they take it from the network's first input.
    first_input = next((var[n.name] for n in graph.nodes if get_op(n.op).name == "input"), None)
    layouts: dict[str, str] = {}
    lines: dict[str, _Line] = {}
    owners: dict[str, str] = {}  # a module's constructor -> the first layer that makes it
    for node in graph.nodes:
        if get_op(node.op).name == "input":
            layouts[node.name] = _input_layout(shapes[node.name], readers.get(node.name, set()))
            continue
        aux = node.name in training_only
        leaks = [i for i in node.inputs if i in training_only]
        if not aux and leaks:
            raise CnnCalcError(
                f"{node.name}: an inference layer that reads the training-only layer {leaks[0]}; PyTorch's eval "
                "forward would have no value to give it"
            )
        ins = [_In(var[i], shapes[i], layouts[i]) for i in node.inputs]
        line = _translate(node, ins, shapes[node.name], first_input)
        if line.module is not None and node.args.get("shared", False):
            # Its weights are counted at an earlier call: that layer's module (one made alike) is called again.
            owner = owners.get(line.module)
            if owner is None:
                raise CnnCalcError(
                    f"{node.name}: shared=true, but no earlier layer holds the same weights ({line.module}) to call "
                    "again"
                )
            line = replace(line, expr=line.expr.replace("{id}", ids[owner]), module=None)
            line.notes.append(f"{_text(owner)} called again (its weights)")
        elif line.module is not None:
            owners.setdefault(line.module, node.name)
        lines[node.name] = line
        layouts[node.name] = line.layout if shapes[node.name].sizes else CHANNELS_FIRST
    return _Plan(report, shapes, training_only, ids, var, layouts, lines)


def _input_layout(s: Shape, readers: set[str]) -> str:
    """Images and volumes come channels first, as PyTorch's convolutions take them; a sequence LxC comes channels
    first if a convolution or a pool reads it (a signal), else channels last (tokens)."""
    if s.rank >= 2 or (s.rank == 1 and readers & _WINDOW_OPS):
        return CHANNELS_FIRST
    return CHANNELS_LAST if s.rank == 1 else CHANNELS_FIRST


def tensor_layouts(graph: Graph) -> dict[str, str]:
    """The layout each layer's output is held in by the exported module: CHANNELS_FIRST, (N, *lead, C, *sizes), or
    CHANNELS_LAST, (N, *lead, *sizes, C). Vectors (no sizes) are the same either way and say CHANNELS_FIRST."""
    return _plan(graph.sorted()).layouts


def torch_source(graph: Graph, class_name: str | None = None) -> str:
    """A runnable Python file (torch, torch.nn and torch.nn.functional only) defining the network as one class.

    Raises CnnCalcError for a layer PyTorch cannot be given (an `opaque` layer) or a bad class name.
    """
    graph = graph.sorted()
    name = _check_class_name(class_name) if class_name is not None else default_class_name(graph)
    plan = _plan(graph)
    report, shapes, training_only, ids, var, layouts = (
        plan.report, plan.shapes, plan.training_only, plan.ids, plan.var, plan.layouts,
    )  # fmt: skip

    init: list[str] = []
    body: list[str] = []
    helpers: set[str] = set()
    in_training_block = False
    for node in graph.nodes:
        if node.name not in plan.lines:
            continue
        aux = node.name in training_only
        line = plan.lines[node.name]
        helpers.update(
            h
            for h in _HELPERS
            if (line.module and line.module.startswith(h + "(")) or re.search(rf"\b{h}\(", line.expr)
        )
        ident = ids[node.name]
        renamed = f"{_text(node.name)}: " if ident != node.name else ""
        if line.module is not None or line.init is not None:
            comment = "; ".join(c for c in (_text(node.name) if renamed else "", line.module_note) if c)
            statement = line.init.replace("{id}", ident) if line.init else f"self.{ident} = {line.module}"
            init.append(f"        {statement}" + (f"  # {comment}" if comment else ""))
        if aux != in_training_block:
            if aux:
                body.append("        if self.training:  # the auxiliary (training-only) layers")
            in_training_block = aux
        indent = " " * (12 if aux else 8)
        for note in line.notes:
            body.append(f"{indent}# {note}")
        named = renamed if line.module is None and line.init is None else ""  # __init__ names it already
        expr = line.expr.replace("{id}", ident)
        shown = _held_text(shapes[node.name], layouts[node.name])
        body.append(_statement(indent, var[node.name], expr, f"{named}{shown}"))

    inputs = graph.inputs
    outputs = [n.name for n in graph.outputs]
    main_out = [n for n in outputs if n not in training_only]
    aux_out = [n for n in outputs if n in training_only]
    args = ", ".join(f"{var[n.name]}: torch.Tensor" for n in inputs)
    doc_in = ", ".join(f"{var[n.name]} {_torch_shape(shapes[n.name], layouts[n.name])}" for n in inputs)
    doc_out = ", ".join(f"{_text(n)} {_torch_shape(shapes[n], layouts[n])}" for n in main_out) or "nothing"
    returns = f"Returns {doc_out}"
    if aux_out:
        returns += "; while training, then the auxiliary outputs " + ", ".join(map(_text, aux_out))
    forward_doc = f"Inputs: {doc_in}.\n\n" + _wrap(returns)
    body.append("")
    if aux_out:
        body.append("        if self.training:")
        body.append(f"            return {_returned([var[n] for n in main_out + aux_out])}")
    body.append(f"        return {_returned([var[n] for n in main_out])}")
    one = len(main_out) == 1 and not aux_out
    ret_type = "torch.Tensor" if one else "torch.Tensor | tuple[torch.Tensor, ...]"

    feeds = [_torch_shape(shapes[n.name], layouts[n.name]) for n in inputs]
    totals = report.totals
    header = _header(graph, report, name, _conventions(graph, shapes, layouts), _plain(shapes, layouts))
    uses_f = any("F." in line for line in body) or any("F." in _HELPERS[h] for h in helpers)
    imports = ["import torch", *(["import torch.nn.functional as F"] if uses_f else []), "from torch import nn"]
    parts = [header, *imports, ""]
    for helper in _HELPERS:
        if helper in helpers:
            parts.append(_HELPERS[helper].rstrip() + "\n")
    parts += [
        "",
        f"class {name}(nn.Module):",
        f'    """{_text(graph.name)}: {totals.params:,} parameters, {totals.macs:,} MACs at '
        f'{", ".join(feeds)} (exported by cnncalc)."""',
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init,
        "",
        f"    def forward(self, {args}) -> {ret_type}:",
        f'        """{forward_doc}.\n        """',
        *body,
        "",
        "",
        'if __name__ == "__main__":',
        f"    model = {name}().eval()",
        '    print(f"{sum(p.numel() for p in model.parameters()):,} parameters")',
        "    with torch.no_grad():",
        f"        y = model({', '.join(f'torch.randn{random}' for random in feeds)})",
        "    for t in y if isinstance(y, tuple) else (y,):",
        "        print(tuple(t.shape))",
        "",
    ]
    return "\n".join(parts)


def _plain(shapes: dict[str, Shape], layouts: dict[str, str]) -> bool:
    """Only images and vectors, held as PyTorch's (N, C, H, W) and (N, C): a version-1 network."""
    return all(s.rank in (0, 2) and not s.lead and layouts[n] == CHANNELS_FIRST for n, s in shapes.items())


def _conventions(graph: Graph, shapes: dict[str, Shape], layouts: dict[str, str]) -> list[str]:
    """The notes of the file's docstring that apply to this network."""
    ops: dict[str, list[Node]] = {}
    for node in graph.nodes:
        ops.setdefault(get_op(node.op).name, []).append(node)
    plain = _plain(shapes, layouts)
    held = "C x H x W shape" if plain else "shape as held here (batch left out)"
    notes = [
        f"Each layer's output is `x_<layer>` in forward, with its {held} in a comment; layer names are "
        "cnncalc's, made into identifiers (the original name is kept in a comment where it differs).",
        "Biases follow each layer's own `bias` argument; counting without biases (`--no-bias`) is not another model.",
    ]
    if not plain:
        notes.append(
            "Maps that convolutions, pools and batch norms read are held channels first, (N, C, L), (N, C, H, W), "
            "(N, C, D, H, W); tokens, and what linear layers, matrix products, attention, permute, reshape and param "
            "give, channels last, (N, L, C), as cnncalc writes shapes (the comment says `channels last`). Lead axes "
            "(heads, windows) follow N; layers that take none see them folded into N."
        )
    if any(shapes[n.inputs[0]].spatial and layouts[n.inputs[0]] == CHANNELS_FIRST for n in ops.get("flatten", [])):
        notes.append(
            "flatten is PyTorch's, in C, H, W order; cnncalc lists the same values in H, W, C order (same count)."
        )
    if "reshape" in ops:
        notes.append("reshape reads and writes values in H, W, C order, as cnncalc does.")
    if "param" in ops:
        notes.append(
            "Free tensors (param) start as zeros (set them before use); forward repeats them for every sample."
        )
    strided_same = [
        n
        for op in ("conv", "dwconv", "maxpool", "avgpool")
        for n in ops.get(op, [])
        if n.args.get("p") == "same" and tuple(get_op(op).complete(n.args).get("s") or (1, 1)) != (1, 1)
    ]
    if strided_same:
        notes.append(
            "TensorFlow's `same` padding at a stride above 1 depends on the input size: it is fixed here for the "
            "input above."
        )
    if "droppath" in ops:
        notes.append("Stochastic depth (droppath) is an identity here, as at inference.")
    if "rbf" in ops:
        notes.append("The RBF units' fixed vectors are random +1/-1 values: set them before use.")
    return notes


def _header(graph: Graph, report: Any, class_name: str, notes: list[str], plain: bool) -> str:
    inputs = ", ".join(f"{_text(n)} {s.text()}" for n, s in report.inputs)
    held = (
        "(H x W x C); tensors here are PyTorch's (N, C, H, W), or (N, C) for vectors."
        if plain
        else "(channels last, as cnncalc writes shapes); tensors here are PyTorch's, laid out as noted below."
    )
    bullets = "\n".join(
        "\n".join(textwrap.wrap(note, 116, initial_indent="- ", subsequent_indent="  ")) for note in notes
    )
    return f'''"""{_text(graph.name)} as a PyTorch module, written by cnncalc (`cnncalc export ... --to torch`).

{_wrapped(f"Input: {inputs} {held}")}
{report.totals.params:,} parameters, {report.totals.buffers:,} buffers (batch-norm running statistics, fixed vectors),
{report.totals.macs:,} multiply-accumulates per image at inference.

Conventions of this file:
{bullets}

Usage: `model = {class_name}()`, then `model(x)`; `python this_file.py` runs it once on random input.
"""

from __future__ import annotations
'''


def _wrapped(text: str) -> str:
    return "\n".join(textwrap.wrap(text, 116))


def _text(name: str) -> str:
    """A name as it may stand in a comment or a docstring of the file: one line, no quotes or backslashes to end it."""
    return re.sub(r"[\x00-\x1f\x7f\\\"]", "?", name)


def _statement(indent: str, target: str, expr: str, comment: str) -> str:
    """`target = expr  # comment`, with a long list of inputs (a concat, a sum) spread over lines."""
    line = f"{indent}{target} = {expr}  # {comment}"
    if len(line) <= 120:
        return line
    inner = indent + "    "
    cat = re.fullmatch(r"torch\.cat\(\[(.*)\], dim=(-?\d+)\)", expr)
    if cat:
        items, dim = cat.groups()
        wrapped = textwrap.wrap(
            items, 116 - len(inner), initial_indent=inner + "    ", subsequent_indent=inner + "    "
        )
        return "\n".join(
            [
                f"{indent}{target} = torch.cat(  # {comment}",
                f"{inner}[",
                *wrapped,
                f"{inner}],",
                f"{inner}dim={dim},",
                f"{indent})",
            ]
        )
    if " + " in expr or " * " in expr:
        op = " + " if " + " in expr else " * "
        terms = expr.split(op)
        lines, current = [], ""
        for term in terms:
            piece = term if not current else f"{current}{op}{term}"
            if current and len(inner) + len(piece) > 116:
                lines.append(current)
                current = term
            else:
                current = piece
        lines.append(current)
        body = [f"{inner}{lines[0]}", *(f"{inner}{op.strip()} {rest}" for rest in lines[1:])]
        return "\n".join([f"{indent}{target} = (  # {comment}", *body, f"{indent})"])
    return line


def _wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(text, 112, initial_indent="        ", subsequent_indent="        "))


def _held_dims(s: Shape, layout: str) -> tuple[int, ...]:
    """A tensor's PyTorch shape without the batch: (*lead, C, *sizes) channels first, (*lead, *sizes, C) last."""
    if layout == CHANNELS_LAST:
        return (*s.lead, *s.sizes, s.c)
    return (*s.lead, s.c, *s.sizes)


def _held_text(s: Shape, layout: str) -> str:
    text = "x".join(map(str, _held_dims(s, layout)))
    return f"{text} channels last" if layout == CHANNELS_LAST and s.sizes else text


def _torch_shape(s: Shape, layout: str = CHANNELS_FIRST) -> str:
    return str((1, *_held_dims(s, layout)))


def _returned(ids: list[str]) -> str:
    if not ids:
        return "()"
    return ids[0] if len(ids) == 1 else ", ".join(ids)


def _size(v: tuple[int, ...]) -> str:
    return str(v[0]) if all(x == v[0] for x in v) else str(tuple(v))


def _num(v: Fraction | float) -> str:
    return repr(float(v))


def _ints(values: tuple[int, ...] | list[int]) -> str:
    return ", ".join(map(str, values))


# ----------------------------------------------------------------------------- layouts


def _channel_dim(s: Shape, layout: str) -> int:
    """The PyTorch dim of the channels (the batch is dim 0)."""
    return 1 + len(s.lead) if layout == CHANNELS_FIRST or not s.sizes else 1 + len(s.lead) + s.rank


def _axis_dim(s: Shape, layout: str, where: int) -> int:
    """The PyTorch dim of written axis `where` (0 for the first size; len(sizes) for the channels)."""
    if where == s.rank:
        return _channel_dim(s, layout)
    return 1 + len(s.lead) + where + (1 if layout == CHANNELS_FIRST else 0)


def _held(v: _In, want: str) -> str:
    """An input as `want` holds it: the channels axis moved if it is held the other way."""
    if v.layout == want or not v.shape.sizes:
        return v.var
    c = 1 + len(v.shape.lead)
    return f"{v.var}.movedim({c}, -1)" if want == CHANNELS_LAST else f"{v.var}.movedim(-1, {c})"


def _folded(call: str, src: str, s: Shape, rest: str = "") -> str:
    """`call(src, rest)` for a layer that takes (N, C, *sizes): lead axes are folded into the batch and back."""
    if not s.lead:
        return f"{call}({src}{rest})"
    return f"{call}({src}.flatten(0, {len(s.lead)}){rest}).unflatten(0, (-1, {_ints(s.lead)}))"


def _with_batch_axes(expr: str, have: int, want: int) -> str:
    """Insert axes of 1 after the batch so that an operand with `have` axes lines up on the right with `want`
    (NumPy's broadcasting, as cnncalc reads it, aligns the written axes, never the batch)."""
    if want <= have:
        return expr
    return f"{expr}[:, {', '.join(['None'] * (want - have))}]"


def _pad_pairs(pairs: list[tuple[int, int]]) -> str:
    """F.pad's argument: (before, after) per axis, the last axis first."""
    return _ints([v for pair in reversed(pairs) for v in pair])


# ----------------------------------------------------------------------------- one node


def _translate(node: Node, ins: list[_In], out: Shape, first_input: str | None) -> _Line:
    op = get_op(node.op).name
    a = get_op(node.op).complete(node.args)
    v = ins[0] if ins else _In("", out, CHANNELS_FIRST)
    s = v.shape
    if op in _WINDOW_OPS:
        return _window(op, a, v, ins[1] if len(ins) > 1 else None)
    if op == "layernorm" or op == "rmsnorm":
        return _norm_last(op, a, v)
    if op in ("softmax", "l2norm"):  # over the channels, wherever they are held
        held_first = s.sizes and v.layout == CHANNELS_FIRST
        dim = 1 + len(s.lead) if held_first else -1 if s.sizes or s.lead else 1
        return _Line(f"F.{'softmax' if op == 'softmax' else 'normalize'}({v.var}, dim={dim})", layout=v.layout)
    if op in _ACTIVATIONS:
        return _Line(_ACTIVATIONS[op].format(x=v.var), layout=v.layout)
    if op == "dropout":
        return _Line(f"self.{{id}}({v.var})", f"nn.Dropout(p={_num(a.get('p', Fraction(1, 2)))})", layout=v.layout)
    if op == "droppath":
        p = _num(a.get("p", 0))
        note = f"stochastic depth p={p}: drops the branch while training; an identity at inference"
        return _Line(f"self.{{id}}({v.var})", "nn.Identity()", module_note=note, layout=v.layout)
    if op == "flatten":
        if not s.spatial and not s.lead:
            return _Line(v.var, notes=["flatten of a vector: unchanged"])
        if s.spatial and v.layout == CHANNELS_FIRST:
            return _Line(f"torch.flatten({v.var}, 1)", notes=["C, H, W order (cnncalc's is H, W, C)"])
        return _Line(f"torch.flatten({v.var}, 1)")
    if op == "fc" and (out.spatial or out.lead):
        # A linear layer at every token or position: nn.Linear over the last axis of a channels-last tensor.
        module = f"nn.Linear({s.c}, {a['out']}{'' if a.get('bias', True) else ', bias=False'})"
        return _Line(f"self.{{id}}({_held(v, CHANNELS_LAST)})", module, layout=CHANNELS_LAST)
    if op in ("fc", "rbf"):
        src = f"torch.flatten({v.var}, 1)" if s.spatial else v.var
        if op == "fc":
            module = f"nn.Linear({s.numel}, {a['out']}{'' if a.get('bias', True) else ', bias=False'})"
        else:
            module = f"EuclideanRBF({s.numel}, {a['out']})"
        return _Line(f"self.{{id}}({src})", module)
    if op == "reshape":
        line = _reshape(v, a["shape"])
        if a.get("copy"):  # a new tensor, as reshaping a transposed tensor makes one
            line.expr = f"{line.expr}.clone()"
        return line
    if op == "concat":
        return _concat(ins, a.get("axis", -1))
    if op in ("add", "mul"):
        return _elementwise(op, ins, out)
    if op == "slice":
        return _slice(v, a["channels"], a.get("axis", -1))
    if op == "scale":
        kw = [str(s.c)] + (["bias=True"] if a.get("bias") else [])
        if not s.spatial or v.layout == CHANNELS_LAST:
            kw.append("vector=True")
        elif s.rank != 2:
            kw.append(f"axes={s.rank}")
        return _Line(f"self.{{id}}({v.var})", f"Scale({', '.join(kw)})", layout=v.layout)
    if op == "matmul":
        return _matmul(ins, out, a.get("bt", False))
    if op in ("lstm", "gru", "rnn"):
        return _recurrent(op, a, v)
    if op == "attention":
        return _attention(ins, out, a.get("heads", 1), a.get("qkv", False), a.get("mask", False))
    if op == "gather":
        # cnncalc knows the shape picked out, not the index (a relative-position index, say): every value in turn
        # stands in for it, so that the index is neither a parameter nor a buffer.
        n_in, n_out = s.numel, out.numel
        picked = f"{_held(v, CHANNELS_LAST)}.flatten(1).repeat(1, {-(-n_out // n_in)})[:, :{n_out}]"
        return _Line(
            f"{picked}.reshape(-1, {_ints(out.axes())})", notes=["a stand-in index: every value in turn"],
            layout=CHANNELS_LAST,
        )  # fmt: skip
    if op == "permute":
        order = a["order"]
        first = 1 + len(s.lead)
        if s.lead and len(order) == len(s.axes()):  # an order over every written axis, lead ones included
            first = 1
        dims = [*range(first), *(first + i for i in order)]
        return _Line(f"{_held(v, CHANNELS_LAST)}.permute({_ints(dims)})", layout=CHANNELS_LAST)
    if op == "pad":
        return _pad(v, a["p"], a.get("mode", "zeros"))
    if op == "param":
        return _param(out, a.get("buffer", False), a.get("const", False), first_input, a.get("table"))
    if op == "opaque":
        raise CnnCalcError(
            f"{node.name}: an opaque layer ({a.get('what', 'unknown')}) cannot be exported to PyTorch: cnncalc knows "
            "only its output shape and counts, not what it computes"
        )
    raise CnnCalcError(f"{node.name}: no PyTorch export for op {op!r}")


def _keyword(name: str, value: tuple[int, ...], default: int) -> list[str]:
    return [] if all(x == default for x in value) else [f"{name}={_size(value)}"]


def _window(op: str, a: dict[str, Any], v: _In, weight: _In | None = None) -> _Line:
    """The layers PyTorch runs on (N, C, *sizes): convolutions, pools, resizing, per-channel norms. `weight`: a
    convolution's second input, its weight made by other layers."""
    s = v.shape
    x = _held(v, CHANNELS_FIRST)
    rank = s.rank
    if op in ("conv", "dwconv"):
        c_out = a["out"] if op == "conv" else s.c * a.get("m", 1)
        groups = a.get("g", 1) if op == "conv" else s.c
        return _conv(x, s, c_out, groups, a, weight)
    if op in ("maxpool", "avgpool"):
        return _pool(op, x, s, a)
    if op == "convT":
        kw = [f"kernel_size={_size(fit(a['k'], rank, 'k'))}"]
        kw += _keyword("stride", fit(a.get("s", (1, 1)), rank, "s"), 1)
        kw += _keyword("padding", fit(a.get("p", (0, 0)), rank, "p"), 0)
        kw += _keyword("output_padding", fit(a.get("op", (0, 0)), rank, "op"), 0)
        if a.get("g", 1) != 1:
            kw.append(f"groups={a['g']}")
        if not a.get("bias", True):
            kw.append("bias=False")
        kw += _keyword("dilation", fit(a.get("d", (1, 1)), rank, "d"), 1)
        return _Line(_folded("self.{id}", x, s), f"nn.ConvTranspose{rank}d({s.c}, {a['out']}, {', '.join(kw)})")
    if op == "gap":
        size = "(1, 1)" if rank == 2 else "1"
        return _Line(_folded("self.{id}", x, s), f"nn.AdaptiveAvgPool{rank}d({size})")
    if op in ("adaptiveavgpool", "adaptivemaxpool"):
        size = fit(a["size"], rank, "size")
        kind = "Avg" if op == "adaptiveavgpool" else "Max"
        shown = f"({_ints(size)})" if rank > 1 else str(size[0])
        return _Line(_folded("self.{id}", x, s), f"nn.Adaptive{kind}Pool{rank}d({shown})")
    if op == "upsample":
        mode = a.get("mode", "nearest")
        extra = "" if mode == "nearest" else ", align_corners=False"
        module = f'nn.Upsample(scale_factor={_num(a.get("scale", 2))}, mode="{mode}"{extra})'
        return _Line(_folded("self.{id}", x, s), module)
    if op == "bn":
        return _Line(_folded("self.{id}", x, s), f"nn.BatchNorm{max(rank, 1)}d({s.c})")
    if op == "groupnorm":
        extra = "" if a.get("affine", True) else ", affine=False"
        return _Line(_folded("self.{id}", x, s), f"nn.GroupNorm({a.get('g', 32)}, {s.c}{extra})")
    if op == "instancenorm":
        kw = [str(s.c)]
        if a.get("affine", False):
            kw.append("affine=True")
        if a.get("track", False):
            kw.append("track_running_stats=True")
        return _Line(_folded("self.{id}", x, s), f"nn.InstanceNorm{rank}d({', '.join(kw)})")
    if op == "lrn":
        size = a.get("size", 5)
        if s.spatial:
            return _Line(_folded("self.{id}", x, s), f"nn.LocalResponseNorm(size={size})")
        # PyTorch's LRN needs a third dimension: the vector goes through as (N, C, 1).
        module = f"nn.Sequential(nn.Unflatten(1, ({s.c}, 1)), nn.LocalResponseNorm(size={size}), nn.Flatten())"
        return _Line(_folded("self.{id}", x, s), module)
    if op == "shuffle":
        return _Line(_folded("self.{id}", x, s), f"nn.ChannelShuffle({a.get('g', 2)})")
    raise AssertionError(op)


def _conv(x: str, s: Shape, c_out: int, groups: int, a: dict[str, Any], weight: _In | None = None) -> _Line:
    rank = s.rank
    k, stride, d = fit(a["k"], rank, "k"), fit(a.get("s", (1, 1)), rank, "s"), fit(a.get("d", (1, 1)), rank, "d")
    p = a.get("p", (0, 0))
    notes: list[str] = []
    src = x
    size = "x".join(map(str, s.sizes))
    if p == "same":
        pairs = [same_padding(n, k[i], stride[i], d[i]) for i, n in enumerate(s.sizes)]
        unit = all(v == 1 for v in stride)
        if all(b == e for b, e in pairs) and unit:
            pad = '"same"'
        elif all(b == e for b, e in pairs):
            pad = _size(tuple(b for b, _ in pairs))
            notes.append(f"p=same at stride {_size(stride)} for a {size} input")
        else:
            # PyTorch's padding="same" would pad the odd row after as well, but warns that it copies the input.
            pad = "0"
            src = f"F.pad({x}, ({_pad_pairs(pairs)}))"
            if rank == 2:
                (top, bottom), (left, right) = pairs
                where = f"{top},{bottom} rows and {left},{right} columns"
            else:
                where = "; ".join(f"{b},{e} along {axis}" for (b, e), axis in zip(pairs, _AXES[rank], strict=True))
            notes.append(
                f"p=same: {where} (the odd one after)"
                + (f", for a {size} input at stride {_size(stride)}" if not unit else "")
            )
    else:
        pad = _size(fit(p, rank, "p"))
    kw = _keyword("stride", stride, 1)
    if pad != "0":
        kw.append(f"padding={pad}")
    kw += _keyword("dilation", d, 1)
    if groups != 1:
        kw.append(f"groups={groups}")
    if weight is not None:
        # The weight is another layer's output (a fixed filter, a weight computed in forward): the layer holds
        # nothing of its own. Its values, in written order, are read as PyTorch's (C_out, C_in/g, *k) kernel.
        kernel = (c_out, s.c // groups, *k)
        if weight.shape.numel != c_out * (s.c // groups) * _product(k):
            shown = "x".join(map(str, kernel))
            raise CnnCalcError(f"a weight input of {weight.shape.text()} cannot be read as the {shown} kernel")
        w = f"{_held(weight, CHANNELS_LAST)}[0].reshape({_ints(kernel)})"
        notes.append("the weight: the second input's values (of the first sample)")
        return _Line(_folded(f"F.conv{rank}d", src, s, "".join(f", {v}" for v in [w, *kw])), notes=notes)
    if not a.get("bias", True):
        kw.append("bias=False")
    kw.insert(0, f"kernel_size={_size(k)}")
    return _Line(_folded("self.{id}", src, s), f"nn.Conv{rank}d({s.c}, {c_out}, {', '.join(kw)})", notes)


def _product(values: tuple[int, ...]) -> int:
    n = 1
    for v in values:
        n *= v
    return n


_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _pool(op: str, x: str, s: Shape, a: dict[str, Any]) -> _Line:
    rank = s.rank
    k = fit(a["k"], rank, "k")
    stride = fit(a.get("s") or a["k"], rank, "s")
    p = a.get("p", (0, 0))
    ceil = a.get("ceil", False)
    cls = f"nn.MaxPool{rank}d" if op == "maxpool" else f"nn.AvgPool{rank}d"
    kw = [f"kernel_size={_size(k)}", f"stride={_size(stride)}"]
    notes: list[str] = []
    src = x
    size = "x".join(map(str, s.sizes))
    if p == "same":
        pairs = [same_padding(n, k[i], stride[i]) for i, n in enumerate(s.sizes)]
        if all(b == e for b, e in pairs):
            if any(b for b, _ in pairs):
                kw.append(f"padding={_size(tuple(b for b, _ in pairs))}")
                if op == "avgpool":
                    kw.append("count_include_pad=False")  # TensorFlow averages over the real values only
            notes.append(f"p=same for a {size} input")
        else:
            fill = ', value=float("-inf")' if op == "maxpool" else ""
            src = f"F.pad({x}, ({_pad_pairs(pairs)}){fill})"
            notes.append(f"p=same (TensorFlow's) for a {size} input")
            if op == "avgpool":
                notes[-1] += "; the zero padding counts in the averages here, not in TensorFlow's"
    elif any(fit(p, rank, "p")):
        kw.append(f"padding={_size(fit(p, rank, 'p'))}")
    if ceil:
        kw.append("ceil_mode=True")
    return _Line(_folded("self.{id}", src, s), f"{cls}({', '.join(kw)})", notes)


def _norm_last(op: str, a: dict[str, Any], v: _In) -> _Line:
    """layernorm and rmsnorm over the last n written axes (n=1: the channels of each token or position)."""
    s, n = v.shape, a.get("n", 1)
    dims = s.dims()
    normalised = str(s.c) if n == 1 else f"({_ints(dims[len(dims) - n :])})"
    kw = [normalised]
    if not a.get("affine", True):
        kw.append("elementwise_affine=False")
    elif op == "layernorm" and not a.get("beta", True):
        kw.append("bias=False")
    cls = "nn.LayerNorm" if op == "layernorm" else "nn.RMSNorm"
    if n == 1 and s.sizes and v.layout == CHANNELS_FIRST:
        if op == "layernorm" and s.rank == 2 and not s.lead:
            return _Line(f"self.{{id}}({v.var})", f"LayerNorm2d({', '.join(kw)})")
        c = 1 + len(s.lead)
        return _Line(f"self.{{id}}({v.var}.movedim({c}, -1)).movedim(-1, {c})", f"{cls}({', '.join(kw)})")
    return _Line(f"self.{{id}}({_held(v, CHANNELS_LAST)})", f"{cls}({', '.join(kw)})", layout=CHANNELS_LAST)


def _reshape(v: _In, target: Shape) -> _Line:
    # cnncalc reads and writes the values in the written order (H, W, C): go through channels last on both sides.
    expr = f"{_held(v, CHANNELS_LAST)}.reshape(-1, {_ints(target.axes())})"
    if target.rank >= 2 and not target.lead:
        # An image or a volume again: held channels first, as the convolutions that follow take it.
        return _Line(f"{expr}.movedim(-1, 1)", notes=["values taken in H, W, C order, as cnncalc reshapes"])
    return _Line(expr, notes=["values taken in written order, as cnncalc reshapes"], layout=CHANNELS_LAST)


def _common_layout(ins: list[_In]) -> str:
    """The layout a layer joining several inputs works in: the first input's with sizes."""
    return next((v.layout for v in ins if v.shape.sizes), CHANNELS_FIRST)


def _concat(ins: list[_In], axis: int) -> _Line:
    layout = _common_layout(ins)
    first = ins[0].shape
    where = axis + len(first.dims()) if axis < 0 else axis
    dim = _axis_dim(first, layout, where)
    if dim == 1 + len(first.lead) + first.rank and dim > 1:
        dim = -1
    return _Line(f"torch.cat([{', '.join(_held(v, layout) for v in ins)}], dim={dim})", layout=layout)


def _slice(v: _In, picked: tuple[Any, ...], axis: int) -> _Line:
    s = v.shape
    where = axis + len(s.dims()) if axis < 0 else axis
    dim = _axis_dim(s, v.layout, where)
    last = dim == len(s.lead) + s.rank + 1
    pick = f"{picked[1]}:{picked[2]}" if picked[0] == "range" else str(list(picked))
    index = f"..., {pick}" if last and dim > 1 else ", ".join([":"] * dim + [pick])
    return _Line(f"{v.var}[{index}]", layout=v.layout)


def _elementwise(op: str, ins: list[_In], out: Shape) -> _Line:
    """add and mul: inputs broadcast as cnncalc reads them, their written axes aligned on the right."""
    # The output takes the layout of the input with the most axes (cnncalc's `full`), the first such.
    full = max(ins, key=lambda v: (len(v.shape.axes()), v.shape.numel))
    layout = full.layout if out.sizes else CHANNELS_FIRST
    n_axes = len(out.axes())
    terms = []
    for v in ins:
        s = v.shape
        if layout == CHANNELS_LAST or not out.sizes:
            terms.append(_with_batch_axes(_held(v, CHANNELS_LAST), len(s.axes()), n_axes))
        elif v.layout == CHANNELS_FIRST and s.sizes and (len(s.lead), s.rank) == (len(out.lead), out.rank):
            terms.append(v.var)  # held as the output is: (N, *lead, C, *sizes) with as many axes of each
        elif not s.sizes and not s.lead and not out.lead:
            terms.append(f"{v.var}[:, :, {', '.join(['None'] * out.rank)}]")  # a C-vector against a map
        else:
            # Lined up channels last (the written order), then the channels moved where the output holds them.
            aligned = _with_batch_axes(_held(v, CHANNELS_LAST), len(s.axes()), n_axes)
            terms.append(f"{aligned}.movedim(-1, {1 + len(out.lead)})")
    return _Line(f" {'+' if op == 'add' else '*'} ".join(terms), layout=layout)


def _as_matrix_operand(v: _In) -> tuple[str, int]:
    """An operand of a matrix product, channels last, and its number of written axes; a plain vector is a row."""
    expr = _held(v, CHANNELS_LAST)
    if not v.shape.sizes and not v.shape.lead:
        return f"{expr}.unsqueeze(-2)", 2
    return expr, len(v.shape.axes())


def _matmul(ins: list[_In], out: Shape, bt: bool) -> _Line:
    (a, n_a), (b, n_b) = (_as_matrix_operand(v) for v in ins)
    n = max(n_a, n_b)
    a, b = _with_batch_axes(a, n_a, n), _with_batch_axes(b, n_b, n)
    expr = f"torch.matmul({a}, {b}.transpose(-2, -1))" if bt else f"torch.matmul({a}, {b})"
    first = ins[0].shape
    if not first.sizes and not first.lead:
        expr += ".squeeze(-2)"
    return _Line(expr, layout=CHANNELS_LAST)


def _recurrent(op: str, a: dict[str, Any], v: _In) -> _Line:
    """nn.LSTM, nn.GRU or nn.RNN on tokens (N, *lead, L, C), batch first, lead axes folded into the batch; the
    output sequence is its first result (the final states are left aside)."""
    s = v.shape
    kw = [str(s.c), str(a["hidden"])]
    if a.get("layers", 1) != 1:
        kw.append(f"num_layers={a['layers']}")
    if not a.get("bias", True):
        kw.append("bias=False")
    kw.append("batch_first=True")
    if a.get("bidirectional", False):
        kw.append("bidirectional=True")
    if op == "lstm" and a.get("proj", 0):
        kw.append(f"proj_size={a['proj']}")
    if op == "rnn" and a.get("act", "tanh") != "tanh":
        kw.append(f"nonlinearity={a['act']!r}")
    module = f"nn.{op.upper()}({', '.join(kw)})"
    x = _held(v, CHANNELS_LAST)
    if not s.lead:
        return _Line(f"self.{{id}}({x})[0]", module, layout=CHANNELS_LAST)
    expr = f"self.{{id}}({x}.flatten(0, {len(s.lead)}))[0].unflatten(0, (-1, {_ints(s.lead)}))"
    return _Line(expr, module, layout=CHANNELS_LAST)


def _attention(ins: list[_In], out: Shape, heads: int, qkv: bool, mask: bool) -> _Line:
    def tokens(v: _In) -> str:
        # Attention sees L_q and L_k tokens: the positions of a map of several axes, in written order.
        expr = _held(v, CHANNELS_LAST)
        return f"{expr}.flatten({1 + len(v.shape.lead)}, -2)" if v.shape.rank > 1 else expr

    lead = len(out.lead)
    tensors = ins[:-1] if mask else ins
    if len(tensors) == 1:
        x = tokens(tensors[0])
        args = f"*{x}.chunk(3, dim=-1)" if qkv else f"{x}, {x}, {x}"
    else:
        args = ", ".join(_with_batch_axes(tokens(v), len(v.shape.lead), lead) for v in tensors)
    if mask:
        # Added to the logits (N, *lead, heads, L_q, L_k): its written axes line up with theirs on the right.
        m = ins[-1]
        args += f", mask={_with_batch_axes(_held(m, CHANNELS_LAST), len(m.shape.axes()), lead + 3)}"
    expr = f"attend({args}, heads={heads})"
    if out.rank > 1:
        expr += f".unflatten(-2, ({_ints(out.sizes)}))"
    notes = ["q, k and v side by side in the channels"] if qkv else []
    return _Line(expr, notes=notes, layout=CHANNELS_LAST)


_PAD_MODES = {"zeros": "constant", "constant": "constant", "reflect": "reflect", "replicate": "replicate",
              "circular": "circular"}  # fmt: skip


def _pad(v: _In, p: tuple[int, ...], mode: str) -> _Line:
    s = v.shape
    if len(p) == 1:
        p = p * (2 * s.rank)
    pairs = [(p[2 * i], p[2 * i + 1]) for i in range(s.rank)]
    if _PAD_MODES[mode] == "constant":
        # Zeros along the map's axes, whichever way it is held (channels last: nothing added to the channels).
        extra = "0, 0, " if v.layout == CHANNELS_LAST else ""
        return _Line(f"F.pad({v.var}, ({extra}{_pad_pairs(pairs)}))", layout=v.layout)
    # PyTorch pads by reflection, replication or wrapping only the last axes of (N, C, *sizes).
    call = f'F.pad({{}}, ({_pad_pairs(pairs)}), mode="{_PAD_MODES[mode]}")'
    x = _held(v, CHANNELS_FIRST)
    inner = f"{x}.flatten(0, {len(s.lead)})" if s.lead else x
    expr = call.format(inner) + (f".unflatten(0, (-1, {_ints(s.lead)}))" if s.lead else "")
    return _Line(expr, layout=CHANNELS_FIRST)


def _param(out: Shape, buffer: bool, const: bool, first_input: str | None, table: Shape | None = None) -> _Line:
    """A free tensor, held channels last as written, with a batch axis of 1 that forward repeats to the batch."""
    axes = out.axes()
    if const:
        # A fixed table made at construction, neither parameter nor buffer (cnncalc counts it in neither): made in
        # forward, on the input's device.
        made = f"{first_input}.new_zeros({first_input}.shape[0], {_ints(axes)})" if first_input else None
        return _Line(
            made or f"torch.zeros(1, {_ints(axes)})", notes=["a fixed table: zeros stand in"], layout=CHANNELS_LAST
        )
    batch = f"{first_input}.shape[0]" if first_input else "1"
    if table is not None:
        # Values of a learnt table picked into the shape (a relative-position bias): every value in turn stands in
        # for cnncalc's unknown index.
        init = f"self.{{id}} = nn.Parameter(torch.zeros(1, {_ints(table.axes())}))"
        n_in, n_out = table.numel, out.numel
        expr = f"self.{{id}}.flatten(1).repeat({batch}, {-(-n_out // n_in)})[:, :{n_out}].reshape(-1, {_ints(axes)})"
        return _Line(expr, init=init, notes=["picked from its table by a stand-in index"], layout=CHANNELS_LAST)
    value = f"torch.zeros(1, {_ints(axes)})"
    init = f'self.register_buffer("{{id}}", {value})' if buffer else f"self.{{id}} = nn.Parameter({value})"
    # repeat, not expand: a view of a parameter made under no_grad breaks the hooks of PyTorch's FlopCounterMode
    # (its module tracker) wherever it enters or leaves a module.
    expr = f"self.{{id}}.repeat({first_input}.shape[0], {_ints([1] * len(axes))})" if first_input else "self.{id}"
    return _Line(expr, init=init, layout=CHANNELS_LAST)


# ----------------------------------------------------------------------------- running it


def to_torch(graph: Graph) -> nn.Module:
    """The network as an `nn.Module` instance: the class `torch_source` writes, executed in a fresh namespace."""
    require_torch()
    name = default_class_name(graph)
    source = torch_source(graph, name)
    digest = hashlib.sha1(source.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
    filename = f"<cnncalc export of {_text(graph.name)} {digest}>"
    # Registered with linecache, so that tracebacks and inspect show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = {"__name__": "cnncalc_export_" + re.sub(r"\W", "_", graph.name, flags=re.ASCII)}
    exec(compile(source, filename, "exec"), namespace)
    module: nn.Module = namespace[name]()
    return module
