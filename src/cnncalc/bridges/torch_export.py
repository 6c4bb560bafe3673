"""Export a cnncalc Graph to PyTorch: a readable Python file defining one `nn.Module` class.

`torch_source` writes the file as text and needs no torch. `to_torch` executes that same text and returns an
instance, so the file a user saves and the module cnncalc hands back can never differ.

Each layer becomes one line of `forward`, `x_<layer> = ...`, in the graph's order; layers with parameters or a
configuration are submodules named after the layer (`self.conv1 = nn.Conv2d(...)`), element-wise work (activations,
add, mul, concat, slice, reshape) is written inline. Sizes that PyTorch cannot work out by itself (TensorFlow's
`same` padding at a stride above 1) are fixed for the input size the graph was analysed at; the file says so where
it happens.
"""

from __future__ import annotations

import hashlib
import keyword
import linecache
import re
import textwrap
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..errors import CnnCalcError
from ..formulas import same_padding
from ..ir import Graph, Node, Shape
from ..ops.base import get_op
from ..passes import analyze
from ..report import Settings
from . import require_torch

if TYPE_CHECKING:
    from torch import nn

__all__ = ["layer_identifiers", "to_torch", "torch_source"]

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

    def __init__(self, channels: int, bias: bool = False, vector: bool = False) -> None:
        super().__init__()
        shape = (1, channels) if vector else (1, channels, 1, 1)
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
}
_TAKEN_GLOBALS = frozenset({"torch", "nn", "F", *_HELPERS})


@dataclass
class _Line:
    """What one node becomes: a submodule (maybe) and the expression of its output in `forward`."""

    expr: str
    module: str | None = None  # the constructor, e.g. nn.Conv2d(3, 64, kernel_size=3)
    notes: list[str] = field(default_factory=list)  # comments for the forward line
    module_note: str = ""  # a comment for the constructor line


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


def torch_source(graph: Graph, class_name: str | None = None) -> str:
    """A runnable Python file (torch, torch.nn and torch.nn.functional only) defining the network as one class.

    Raises CnnCalcError for a layer PyTorch cannot be given (an `opaque` layer) or a bad class name.
    """
    graph = graph.sorted()
    name = _check_class_name(class_name) if class_name is not None else default_class_name(graph)
    report = analyze(graph, Settings())
    shapes = {layer.name: layer.output for layer in report.layers}
    training_only = {layer.name for layer in report.layers if layer.aux}
    ids = layer_identifiers(graph)
    var = {n: "x_" + i for n, i in ids.items()}

    init: list[str] = []
    body: list[str] = []
    helpers: set[str] = set()
    in_training_block = False
    for node in graph.nodes:
        if node.op == "input":
            continue
        aux = node.name in training_only
        leaks = [i for i in node.inputs if i in training_only]
        if not aux and leaks:
            raise CnnCalcError(
                f"{node.name}: an inference layer that reads the training-only layer {leaks[0]}; PyTorch's eval "
                "forward would have no value to give it"
            )
        line = _translate(node, [shapes[i] for i in node.inputs], [var[i] for i in node.inputs], shapes[node.name])
        helpers.update(h for h in _HELPERS if line.module and line.module.startswith(h + "("))
        ident = ids[node.name]
        renamed = f"{_text(node.name)}: " if ident != node.name else ""
        if line.module is not None:
            comment = "; ".join(c for c in (_text(node.name) if renamed else "", line.module_note) if c)
            init.append(f"        self.{ident} = {line.module}" + (f"  # {comment}" if comment else ""))
        if aux != in_training_block:
            if aux:
                body.append("        if self.training:  # the auxiliary (training-only) layers")
            in_training_block = aux
        indent = " " * (12 if aux else 8)
        for note in line.notes:
            body.append(f"{indent}# {note}")
        named = renamed if line.module is None else ""  # a submodule's line in __init__ names it already
        expr = line.expr.replace("{id}", ident)
        body.append(_statement(indent, var[node.name], expr, f"{named}{_chw(shapes[node.name])}"))

    inputs = graph.inputs
    outputs = [n.name for n in graph.outputs]
    main_out = [n for n in outputs if n not in training_only]
    aux_out = [n for n in outputs if n in training_only]
    args = ", ".join(f"{var[n.name]}: torch.Tensor" for n in inputs)
    doc_in = ", ".join(f"{var[n.name]} {_torch_shape(shapes[n.name])}" for n in inputs)
    doc_out = ", ".join(f"{_text(n)} {_torch_shape(shapes[n])}" for n in main_out) or "nothing"
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

    totals = report.totals
    header = _header(graph, report, name, _conventions(graph, shapes))
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
        f'{", ".join(_torch_shape(shapes[n.name]) for n in inputs)} (exported by cnncalc)."""',
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
        f"        y = model({', '.join(f'torch.randn{_torch_shape(shapes[n.name])}' for n in inputs)})",
        "    for t in y if isinstance(y, tuple) else (y,):",
        "        print(tuple(t.shape))",
        "",
    ]
    return "\n".join(parts)


def _conventions(graph: Graph, shapes: dict[str, Shape]) -> list[str]:
    """The notes of the file's docstring that apply to this network."""
    ops: dict[str, list[Node]] = {}
    for node in graph.nodes:
        ops.setdefault(get_op(node.op).name, []).append(node)
    notes = [
        "Each layer's output is `x_<layer>` in forward, with its C x H x W shape in a comment; layer names are "
        "cnncalc's, made into identifiers (the original name is kept in a comment where it differs).",
        "Biases follow each layer's own `bias` argument; counting without biases (`--no-bias`) is not another model.",
    ]
    if any(shapes[n.inputs[0]].spatial for n in ops.get("flatten", [])):
        notes.append(
            "flatten is PyTorch's, in C, H, W order; cnncalc lists the same values in H, W, C order (same count)."
        )
    if "reshape" in ops:
        notes.append("reshape reads and writes values in H, W, C order, as cnncalc does.")
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


def _header(graph: Graph, report: Any, class_name: str, notes: list[str]) -> str:
    inputs = ", ".join(f"{_text(n)} {s.text()}" for n, s in report.inputs)
    bullets = "\n".join(
        "\n".join(textwrap.wrap(note, 116, initial_indent="- ", subsequent_indent="  ")) for note in notes
    )
    return f'''"""{_text(graph.name)} as a PyTorch module, written by cnncalc (`cnncalc export ... --to torch`).

Input: {inputs} (H x W x C); tensors here are PyTorch's (N, C, H, W), or (N, C) for vectors.
{report.totals.params:,} parameters, {report.totals.buffers:,} buffers (batch-norm running statistics, fixed vectors),
{report.totals.macs:,} multiply-accumulates per image at inference.

Conventions of this file:
{bullets}

Usage: `model = {class_name}()`, then `model(x)`; `python this_file.py` runs it once on random input.
"""

from __future__ import annotations
'''


def _text(name: str) -> str:
    """A name as it may stand in a comment or a docstring of the file: one line, no quotes or backslashes to end it."""
    return re.sub(r"[\x00-\x1f\x7f\\\"]", "?", name)


def _statement(indent: str, target: str, expr: str, comment: str) -> str:
    """`target = expr  # comment`, with a long list of inputs (a concat, a sum) spread over lines."""
    line = f"{indent}{target} = {expr}  # {comment}"
    if len(line) <= 120:
        return line
    inner = indent + "    "
    if expr.startswith("torch.cat([") and expr.endswith("], dim=1)"):
        items = expr[len("torch.cat([") : -len("], dim=1)")]
        wrapped = textwrap.wrap(
            items, 116 - len(inner), initial_indent=inner + "    ", subsequent_indent=inner + "    "
        )
        return "\n".join(
            [
                f"{indent}{target} = torch.cat(  # {comment}",
                f"{inner}[",
                *wrapped,
                f"{inner}],",
                f"{inner}dim=1,",
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


def _chw(s: Shape) -> str:
    return "x".join(map(str, s.dims("chw")))


def _torch_shape(s: Shape) -> str:
    return str((1, *s.dims("chw")))


def _returned(ids: list[str]) -> str:
    if not ids:
        return "()"
    return ids[0] if len(ids) == 1 else ", ".join(ids)


def _size(v: tuple[int, int]) -> str:
    return str(v[0]) if v[0] == v[1] else f"({v[0]}, {v[1]})"


def _num(v: Fraction | float) -> str:
    return repr(float(v))


# ----------------------------------------------------------------------------- one node


def _translate(node: Node, in_shapes: list[Shape], xs: list[str], out: Shape) -> _Line:
    op = get_op(node.op).name
    a = get_op(node.op).complete(node.args)
    x = xs[0] if xs else ""
    s = in_shapes[0] if in_shapes else out
    if op in ("conv", "dwconv"):
        c_out = a["out"] if op == "conv" else s.c * a.get("m", 1)
        groups = a.get("g", 1) if op == "conv" else s.c
        return _conv(x, s, c_out, groups, a)
    if op == "convT":
        kw = [f"kernel_size={_size(a['k'])}"]
        kw += _keyword("stride", a.get("s", (1, 1)), (1, 1))
        kw += _keyword("padding", a.get("p", (0, 0)), (0, 0))
        kw += _keyword("output_padding", a.get("op", (0, 0)), (0, 0))
        if a.get("g", 1) != 1:
            kw.append(f"groups={a['g']}")
        if not a.get("bias", True):
            kw.append("bias=False")
        kw += _keyword("dilation", a.get("d", (1, 1)), (1, 1))
        return _Line(f"self.{{id}}({x})", f"nn.ConvTranspose2d({s.c}, {a['out']}, {', '.join(kw)})")
    if op in ("maxpool", "avgpool"):
        return _pool(op, x, s, a)
    if op == "gap":
        return _Line(f"self.{{id}}({x})", "nn.AdaptiveAvgPool2d((1, 1))")
    if op == "adaptiveavgpool":
        h, w = a["size"]
        return _Line(f"self.{{id}}({x})", f"nn.AdaptiveAvgPool2d(({h}, {w}))")
    if op == "bn":
        return _Line(f"self.{{id}}({x})", f"nn.BatchNorm{'2' if s.spatial else '1'}d({s.c})")
    if op == "layernorm":
        return _Line(f"self.{{id}}({x})", f"LayerNorm2d({s.c})" if s.spatial else f"nn.LayerNorm({s.c})")
    if op == "lrn":
        size = a.get("size", 5)
        if s.spatial:
            return _Line(f"self.{{id}}({x})", f"nn.LocalResponseNorm(size={size})")
        # PyTorch's LRN needs a third dimension: the vector goes through as (N, C, 1).
        module = f"nn.Sequential(nn.Unflatten(1, ({s.c}, 1)), nn.LocalResponseNorm(size={size}), nn.Flatten())"
        return _Line(f"self.{{id}}({x})", module)
    if op in _ACTIVATIONS:
        return _Line(_ACTIVATIONS[op].format(x=x))
    if op == "dropout":
        return _Line(f"self.{{id}}({x})", f"nn.Dropout(p={_num(a.get('p', Fraction(1, 2)))})")
    if op == "droppath":
        p = _num(a.get("p", 0))
        note = f"stochastic depth p={p}: drops the branch while training; an identity at inference"
        return _Line(f"self.{{id}}({x})", "nn.Identity()", module_note=note)
    if op == "flatten":
        if not s.spatial:
            return _Line(x, notes=["flatten of a vector: unchanged"])
        return _Line(f"torch.flatten({x}, 1)", notes=["C, H, W order (cnncalc's is H, W, C)"])
    if op in ("fc", "rbf"):
        src = f"torch.flatten({x}, 1)" if s.spatial else x
        if op == "fc":
            module = f"nn.Linear({s.numel}, {a['out']}{'' if a.get('bias', True) else ', bias=False'})"
        else:
            module = f"EuclideanRBF({s.numel}, {a['out']})"
        return _Line(f"self.{{id}}({src})", module)
    if op == "reshape":
        return _reshape(x, s, a["shape"])
    if op == "concat":
        return _Line(f"torch.cat([{', '.join(xs)}], dim=1)")
    if op in ("add", "mul"):
        terms = [_broadcast(v, shp, out) for v, shp in zip(xs, in_shapes, strict=True)]
        return _Line(f" {'+' if op == 'add' else '*'} ".join(terms))
    if op == "shuffle":
        return _Line(f"self.{{id}}({x})", f"nn.ChannelShuffle({a.get('g', 2)})")
    if op == "slice":
        picked = a["channels"]
        if picked[0] == "range":
            return _Line(f"{x}[:, {picked[1]}:{picked[2]}]")
        return _Line(f"{x}[:, {list(picked)}]")
    if op == "scale":
        kw = [str(s.c)] + (["bias=True"] if a.get("bias") else []) + ([] if s.spatial else ["vector=True"])
        return _Line(f"self.{{id}}({x})", f"Scale({', '.join(kw)})")
    if op == "upsample":
        mode = a.get("mode", "nearest")
        extra = ", align_corners=False" if mode == "bilinear" else ""
        return _Line(f"self.{{id}}({x})", f'nn.Upsample(scale_factor={_num(a.get("scale", 2))}, mode="{mode}"{extra})')
    if op == "opaque":
        raise CnnCalcError(
            f"{node.name}: an opaque layer ({a.get('what', 'unknown')}) cannot be exported to PyTorch: cnncalc knows "
            "only its output shape and counts, not what it computes"
        )
    raise CnnCalcError(f"{node.name}: no PyTorch export for op {op!r}")


def _keyword(name: str, value: tuple[int, int], default: tuple[int, int]) -> list[str]:
    return [] if value == default else [f"{name}={_size(value)}"]


def _conv(x: str, s: Shape, c_out: int, groups: int, a: dict[str, Any]) -> _Line:
    k, stride, d = a["k"], a.get("s", (1, 1)), a.get("d", (1, 1))
    p = a.get("p", (0, 0))
    notes: list[str] = []
    src = x
    if p == "same":
        assert s.h is not None and s.w is not None
        (top, bottom), (left, right) = (same_padding(n, k[i], stride[i], d[i]) for i, n in enumerate((s.h, s.w)))
        if top == bottom and left == right and stride == (1, 1):
            pad = '"same"'
        elif top == bottom and left == right:
            pad = _size((top, left))
            notes.append(f"p=same at stride {_size(stride)} for a {s.h}x{s.w} input")
        else:
            # PyTorch's padding="same" would pad the odd row after as well, but warns that it copies the input.
            pad = "0"
            src = f"F.pad({x}, ({left}, {right}, {top}, {bottom}))"
            notes.append(
                f"p=same: {top},{bottom} rows and {left},{right} columns (the odd one after)"
                + (f", for a {s.h}x{s.w} input at stride {_size(stride)}" if stride != (1, 1) else "")
            )
    else:
        pad = _size(p)
    kw = [f"kernel_size={_size(k)}"]
    kw += _keyword("stride", stride, (1, 1))
    if pad != "0":
        kw.append(f"padding={pad}")
    kw += _keyword("dilation", d, (1, 1))
    if groups != 1:
        kw.append(f"groups={groups}")
    if not a.get("bias", True):
        kw.append("bias=False")
    return _Line(f"self.{{id}}({src})", f"nn.Conv2d({s.c}, {c_out}, {', '.join(kw)})", notes)


def _pool(op: str, x: str, s: Shape, a: dict[str, Any]) -> _Line:
    k = a["k"]
    stride = a.get("s") or k
    p = a.get("p", (0, 0))
    ceil = a.get("ceil", False)
    cls = "nn.MaxPool2d" if op == "maxpool" else "nn.AvgPool2d"
    kw = [f"kernel_size={_size(k)}", f"stride={_size(stride)}"]
    notes: list[str] = []
    src = x
    if p == "same":
        assert s.h is not None and s.w is not None
        (top, bottom), (left, right) = (same_padding(n, k[i], stride[i]) for i, n in enumerate((s.h, s.w)))
        if top == bottom and left == right:
            if top or left:
                kw.append(f"padding={_size((top, left))}")
                if op == "avgpool":
                    kw.append("count_include_pad=False")  # TensorFlow averages over the real values only
            notes.append(f"p=same for a {s.h}x{s.w} input")
        else:
            fill = ', value=float("-inf")' if op == "maxpool" else ""
            src = f"F.pad({x}, ({left}, {right}, {top}, {bottom}){fill})"
            notes.append(f"p=same (TensorFlow's) for a {s.h}x{s.w} input")
            if op == "avgpool":
                notes[-1] += "; the zero padding counts in the averages here, not in TensorFlow's"
    elif p != (0, 0):
        kw.append(f"padding={_size(p)}")
    if ceil:
        kw.append("ceil_mode=True")
    return _Line(f"self.{{id}}({src})", f"{cls}({', '.join(kw)})", notes)


def _reshape(x: str, s: Shape, target: Shape) -> _Line:
    # cnncalc reads and writes the values in H, W, C order: go through channels-last on both sides.
    flat = f"{x}.permute(0, 2, 3, 1)" if s.spatial else x
    if target.spatial:
        expr = f"{flat}.reshape(-1, {target.h}, {target.w}, {target.c}).permute(0, 3, 1, 2)"
    else:
        expr = f"{flat}.reshape(-1, {target.c})"
    return _Line(expr, notes=["values taken in H, W, C order, as cnncalc reshapes"])


def _broadcast(x: str, s: Shape, out: Shape) -> str:
    """An add/mul input made to broadcast against the output: a C-vector against a map, a 1x1xC map against a vector."""
    if out.spatial and not s.spatial:
        return f"{x}[:, :, None, None]"
    if not out.spatial and s.spatial:
        return f"{x}.flatten(1)"
    return x


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
