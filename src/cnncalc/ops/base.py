"""What every op is made of: typed arguments, the result of one layer, the registry."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar, NamedTuple

from ..errors import OpError
from ..expr import Step
from ..ir import AXIS_NAMES, MAX_SIZE, Shape, too_large

# ----------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class Param:
    """One argument of an op: how to read it from text or Python, and how to write it back."""

    name: str
    parse: Callable[[Any], Any]
    fmt: Callable[[Any], str]
    default: Any = None
    required: bool = False
    help: str = ""

    def read(self, raw: Any) -> Any:
        try:
            return self.parse(raw)
        except (ValueError, TypeError) as exc:
            raise OpError(f"{self.name}={shortened(raw)}: {exc}") from None


def shortened(raw: Any, most: int = 40) -> str:
    """The text of a value for an error line, cut short when long (a 5,000-digit number is not echoed)."""
    text = str(raw)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= most else f"{text[: most // 2]}...({len(text):,} characters)"


# A whole number as the spec writes it: ASCII digits only (int() would also take full-width or Arabic-Indic
# digits), one optional minus sign, and short enough to be read without Python's 4,300-digit limit.
_WHOLE = re.compile(r"-?[0-9]{1,30}")


def read_whole(text: str) -> int:
    """An ASCII whole number within MAX_SIZE; ValueError saying what fits otherwise."""
    text = text.strip()
    if not _WHOLE.fullmatch(text):
        if re.fullmatch(r"-?[0-9]+", text):
            raise ValueError(f"too large: at most {MAX_SIZE:,}")
        raise ValueError("expected a whole number written with the digits 0-9, like 3")
    value = int(text)
    problem = too_large(value)
    if problem:
        raise ValueError(problem)
    return value


def _whole(raw: Any, least: int) -> int:
    if isinstance(raw, bool):
        raise ValueError("expected a whole number")
    if isinstance(raw, int):
        value = raw
        problem = too_large(value)
        if problem:
            raise ValueError(problem)
    elif isinstance(raw, str) and re.fullmatch(r"\s*-?[0-9]+\s*", raw):
        value = read_whole(raw)
    elif isinstance(raw, str) and any(ch.isdigit() and not ch.isascii() for ch in raw):
        raise ValueError("write numbers with the digits 0-9")
    else:
        raise ValueError(f"expected a whole number, like {max(least, 1) * 3}")
    if value < least:
        raise ValueError(f"must be at least {least}")
    return value


def whole(least: int = 1, help: str = "") -> tuple[Callable[[Any], int], Callable[[Any], str]]:
    return (lambda raw: _whole(raw, least)), str


def integer() -> tuple[Callable[[Any], int], Callable[[Any], str]]:
    """A whole number that may be negative (an axis counted from the end)."""

    def parse(raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueError("expected a whole number")
        if isinstance(raw, int):
            return read_whole(str(raw))
        text = str(raw).strip()
        if re.fullmatch(r"-?[0-9]+", text):
            return read_whole(text)
        raise ValueError("expected a whole number, like 0 or -1")

    return parse, str


def pair(least: int = 1) -> tuple[Callable[[Any], tuple[int, ...]], Callable[[Any], str]]:
    """`3`, `3x5` (height x width) or `3x3x3` (depth x height x width); one number is kept as a square pair and
    fitted to the input's axes when the layer is worked out (`fit`)."""

    def parse(raw: Any) -> tuple[int, ...]:
        if isinstance(raw, (tuple, list)):
            if not 1 <= len(raw) <= 3:
                raise ValueError("expected one number, or one per axis (L, HxW or DxHxW)")
            if len(raw) == 1:
                v = _whole(raw[0], least)
                return v, v
            return tuple(_whole(v, least) for v in raw)
        if isinstance(raw, str) and "x" in raw:
            parts = raw.split("x")
            if len(parts) > 3:
                raise ValueError("expected one number, HxW or DxHxW, like 3, 3x5 or 3x3x3")
            return tuple(_whole(v, least) for v in parts)
        v = _whole(raw, least)
        return v, v

    return parse, format_pair


def format_pair(value: tuple[int, ...]) -> str:
    return str(value[0]) if all(v == value[0] for v in value) else "x".join(map(str, value))


def fit(value: tuple[int, ...], rank: int, key: str) -> tuple[int, ...]:
    """A per-axis argument for an input with `rank` window axes: one number serves every axis."""
    if len(value) == rank:
        return value
    if all(v == value[0] for v in value):
        return (value[0],) * rank
    axes = AXIS_NAMES[rank]
    want = "x".join(axes) if rank > 1 else "one number"
    raise OpError(f"{key}={format_pair(value)} gives {len(value)} sizes, but the input has {rank} axes: write {want}")


def padding() -> tuple[Callable[[Any], Any], Callable[[Any], str]]:
    """`same`, `valid`, `N`, `HxW` or `DxHxW`."""
    as_pair, _ = pair(0)

    def parse(raw: Any) -> str | tuple[int, ...]:
        if isinstance(raw, str) and raw.lower() in ("same", "valid"):
            return "same" if raw.lower() == "same" else (0, 0)
        try:
            return as_pair(raw)
        except ValueError as exc:
            if "too large" in str(exc):
                raise
            raise ValueError("expected a number, HxW, DxHxW, same or valid") from None

    return parse, lambda v: v if isinstance(v, str) else format_pair(v)


def boolean() -> tuple[Callable[[Any], bool], Callable[[Any], str]]:
    def parse(raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ValueError("expected true or false")

    return parse, lambda v: "true" if v else "false"


def number(low: float, high: float | None = None, *, open_low: bool = False):  # type: ignore[no-untyped-def]
    def parse(raw: Any) -> Fraction:
        if isinstance(raw, bool):
            raise ValueError("expected a number")
        text = str(raw).strip()
        if not isinstance(raw, Fraction) and (len(text) > 40 or not text.isascii()):
            raise ValueError("expected a number of at most 40 characters, written with the digits 0-9, like 0.5")
        try:
            value = Fraction(text) if not isinstance(raw, Fraction) else raw
        except (ValueError, ZeroDivisionError, OverflowError):
            raise ValueError("expected a number, like 0.5") from None
        if abs(value) > MAX_SIZE:
            raise ValueError(f"too large: at most {MAX_SIZE:,}")
        if value < low or (open_low and value == low) or (high is not None and value > high):
            bound = f"above {low}" if open_low else f"at least {low}"
            raise ValueError(f"must be {bound}" + (f" and at most {high}" if high is not None else ""))
        return value

    return parse, format_fraction


def format_fraction(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{float(v):g}"


def text() -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    """A word without spaces, kept as typed."""

    def parse(raw: Any) -> str:
        value = str(raw)
        if not value or any(ch.isspace() for ch in value) or "#" in value:
            raise ValueError("expected one word without spaces")
        return value

    return parse, str


def choice(*options: str) -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    def parse(raw: Any) -> str:
        text = str(raw).lower()
        if text not in options:
            raise ValueError("expected " + " or ".join(options))
        return text

    return parse, str


def shape() -> tuple[Callable[[Any], Shape], Callable[[Any], str]]:
    """`HxWxC` for an image, `DxHxWxC` for a volume or video, `LxC` for a signal or tokens, `N` for a vector;
    `B*...` in front for batch-like axes (heads, windows) that repeat the work."""

    def parse(raw: Any) -> Shape:
        if isinstance(raw, Shape):
            return raw
        lead: tuple[int, ...] = ()
        if isinstance(raw, (tuple, list)):
            parts = [str(p) for p in raw]
        else:
            text = str(raw).lower()
            if "*" in text:
                head, _, text = text.rpartition("*")
                lead = tuple(_whole(p, 1) for p in head.replace("*", "x").split("x"))
            parts = text.split("x")
        if not 1 <= len(parts) <= 4:
            raise ValueError(
                "expected HxWxC (like 224x224x3), DxHxWxC for a volume or video, LxC for a signal or tokens, "
                "or N for a vector"
            )
        values = [_whole(p, 1) for p in parts]
        return Shape.of(values[-1], tuple(values[:-1]), lead)

    return parse, lambda s: s.text()


def size2d() -> tuple[Callable[[Any], tuple[int, int]], Callable[[Any], str]]:
    parse, _ = pair(1)
    return parse, lambda v: "x".join(map(str, v))


def make(name: str, kind: tuple[Callable[[Any], Any], Callable[[Any], str]], default: Any = None, *,
         required: bool = False, help: str = "") -> Param:  # fmt: skip
    parse, fmt = kind
    return Param(name, parse, fmt, default, required, help)


# ----------------------------------------------------------------------------- results


def exact(value: int | Fraction) -> int | Fraction:
    """A Fraction that is whole as an int, so integer arithmetic stays fast."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


class Window(NamedTuple):
    """How one layer moves the receptive field along one axis.

    ``span`` more input units are seen, the output step is ``stride`` input
    units, and output unit 0 is centred ``offset2 / 2`` input units after input
    unit 0 (kept doubled so half-pixel offsets stay whole numbers). A
    convolution has span K_eff-1, stride S, offset (K_eff-1)/2 - P.
    """

    span: int | Fraction
    stride: int | Fraction
    offset2: int | Fraction

    @classmethod
    def of(cls, span: int | Fraction, stride: int | Fraction, offset: int | Fraction) -> Window:
        return cls(exact(Fraction(span)), exact(Fraction(stride)), exact(2 * Fraction(offset)))

    @classmethod
    def conv(cls, k_eff: int, s: int, pad_before: int) -> Window:
        return cls(k_eff - 1, s, k_eff - 1 - 2 * pad_before)

    @classmethod
    def transposed(cls, k_eff: int, s: int, p: int) -> Window:
        # Output o reads inputs i with i*S - P + t = o for taps t in [0, K_eff): at most
        # floor((K_eff-1)/S) + 1 of them, centred at (o + P - (K_eff-1)/2)/S.
        return cls((k_eff - 1) // s, exact(Fraction(1, s)), exact(Fraction(2 * p - (k_eff - 1), s)))


class Windows3(tuple):  # type: ignore[type-arg]
    """The windows of a layer that slides along three axes (depth, height, width); two-axis rules are plain pairs."""


STILL = Window(0, 1, 0)  # the rule of an axis a layer does not move (the missing W of a 1-D map)


def axes_rule(windows: Sequence[Window]) -> RFRule:
    """The receptive-field rule of a layer sliding along 1, 2 or 3 axes."""
    if len(windows) == 1:
        return (windows[0], STILL)
    if len(windows) == 2:
        return (windows[0], windows[1])
    return Windows3(windows)


IDENTITY = "identity"  # the field passes through unchanged
GLOBAL = "global"  # every output sees the whole input (global pooling)
ATTEND = "attend"  # every token attends to every token: a global field, whatever the tokens' own fields
MERGE = "merge"  # union of the inputs' fields
FLATTEN = "flatten"  # positions become features
DENSE = "dense"  # every output sees every input feature
SOURCE = "source"  # an input layer
SCRAMBLED = "scrambled"  # a reshape that mixes positions: no field applies
RFRule = tuple[Window, Window] | Windows3 | str


@dataclass
class Warn:
    code: str  # "inexact" warnings become errors under --strict
    message: str


@dataclass
class Calc:
    """What an op works out for one layer, from its input shapes and arguments alone."""

    output: Shape
    steps: list[Step] = field(default_factory=list)
    weights: int = 0
    biases: int = 0
    buffers: int = 0
    macs: int | None = 0  # None: unknown (an op cnncalc cannot cost), shown as "?", never as 0
    rf: RFRule = IDENTITY
    warnings: list[Warn] = field(default_factory=list)

    def step(self, step: Step) -> int:
        """Record a step and give back its value as an int."""
        self.steps.append(step)
        return int(step.value)


@dataclass(frozen=True)
class Context:
    count_biases: bool = True
    input_names: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- ops


class Op:
    """One op type. Subclasses set the class attributes and implement `calc`."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str] = ""
    positional: ClassVar[Param | None] = None
    keys: ClassVar[tuple[Param, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        raise NotImplementedError

    # Filled once by `register`: lookups the parser, builder and analysis do for every layer.
    _params: ClassVar[dict[str, Param]] = {}
    _defaults: ClassVar[dict[str, Any]] = {}
    _bias_follows: ClassVar[bool] = False

    @classmethod
    def param(cls, key: str) -> Param | None:
        return cls._params.get(key)

    @classmethod
    def bias_follows_setting(cls) -> bool:
        """Layers whose bias is on by default take `set bias=` / the builder's default."""
        return cls._bias_follows

    @classmethod
    def key_names(cls) -> list[str]:
        return [p.name for p in cls.keys]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return dict(cls._defaults)

    @classmethod
    def complete(cls, args: dict[str, Any]) -> dict[str, Any]:
        """Arguments with defaults filled in, including those that depend on others (a pool's stride)."""
        return {**cls._defaults, **args}


_REGISTRY: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: add an op under its name and aliases; a name may be taken once."""
    params = ([cls.positional] if cls.positional else []) + list(cls.keys)
    cls._params = {p.name: p for p in params}
    cls._defaults = {p.name: p.default for p in params if p.default is not None}
    bias = cls._params.get("bias")
    cls._bias_follows = bias is not None and bias.default is True
    for key in (cls.name, *cls.aliases):
        if key.lower() in _REGISTRY:
            raise RuntimeError(f"op {key!r} is registered twice")
        _REGISTRY[key.lower()] = cls()
    return cls


def get_op(name: str) -> Op:
    op = _REGISTRY.get(name) or _REGISTRY.get(name.lower())
    if op is None:
        close = difflib.get_close_matches(name.lower(), list(_REGISTRY), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise OpError(f"unknown op {name!r}{hint} (`cnncalc ops` lists them all)")
    return op


# Names users bring from PyTorch, Keras or Caffe, mapped to the spec's keys.
KEY_SYNONYMS = {
    "kernel": "k", "kernel_size": "k", "ksize": "k", "stride": "s", "strides": "s", "padding": "p", "pad": "p",
    "dilation": "d", "dilation_rate": "d", "groups": "g", "group": "g", "output_padding": "op",
    "multiplier": "m", "depth_multiplier": "m", "ceil_mode": "ceil", "local_size": "size", "scale_factor": "scale",
    "use_bias": "bias", "inputs": "from", "input": "from",
}  # fmt: skip


def suggest_key(op: Op, key: str) -> str:
    """`; did you mean s=?` for `stride=`, or a close spelling, or nothing."""
    choices = [*op.key_names(), "from", "aux"]
    guess = KEY_SYNONYMS.get(key.lower())
    if guess not in choices:
        close = difflib.get_close_matches(key, choices, n=1)
        guess = close[0] if close else None
    return f"; did you mean {guess}=?" if guess else ""


def read_args(op: Op, positional: Sequence[Any], keys: Iterable[tuple[str, Any]], bias: bool) -> dict[str, Any]:
    """Check and read an op's arguments, given as text (the spec) or Python values (the Builder).

    `bias` is the default for layers whose bias follows `set bias=`. Defaults are filled in.
    """
    args: dict[str, Any] = {}
    if positional:
        if op.positional is None:
            raise OpError(f"{op.name} takes no value before its keys, got {positional[0]!r}{_key_list(op)}")
        if len(positional) > 1:
            shown = " ".join(map(str, positional))
            raise OpError(f"{op.name} takes one {op.positional.help or op.positional.name}, got {shown}")
        try:
            args[op.positional.name] = op.positional.read(positional[0])
        except OpError as exc:
            raise OpError(f"{op.positional.help or op.positional.name}: {exc}") from None
    elif op.positional is not None and op.positional.required:
        raise OpError(f"{op.name} needs its {op.positional.help or op.positional.name}, e.g. `{_example(op)}`")
    for key, value in keys:
        param = op.param(key)
        if param is None or param is op.positional:
            raise OpError(f"unknown key {key!r} for {op.name}{suggest_key(op, key)}{_key_list(op)}")
        args[key] = param.read(value)
    for param in op.keys:
        if param.required and param.name not in args:
            raise OpError(f"{op.name} needs {param.name}= ({param.help}), e.g. `{_example(op)}`")
    if op.bias_follows_setting() and "bias" not in args:
        args["bias"] = bias
    return op.complete(args)


def _key_list(op: Op) -> str:
    names = op.key_names()
    return f" (keys: {', '.join(names)})" if names else f" ({op.name} takes no keys)"


def _example(op: Op) -> str:
    examples = {
        "conv": "conv 64 k=3 p=1",
        "convT": "convT 64 k=4 s=2 p=1",
        "fc": "fc 1000",
        "input": "input 224x224x3",
        "maxpool": "maxpool k=2",
        "avgpool": "avgpool k=2",
        "dwconv": "dwconv k=3 p=1",
        "adaptiveavgpool": "adaptiveavgpool 7x7",
        "reshape": "reshape 7x7x64",
    }
    return examples.get(op.name, op.name)


def all_ops() -> list[Op]:
    seen: dict[str, Op] = {}
    for op in _REGISTRY.values():
        seen.setdefault(op.name, op)
    return list(seen.values())


def need_map(op: str, x: Shape, what: str = "a feature map HxWxC") -> tuple[int, int, int]:
    if not x.spatial:
        raise OpError(f"{op} needs {what}, but its input is a vector of {x.c}")
    if x.rank != 2:
        raise OpError(f"{op} needs {what}, but its input is {x.text()} ({_RANK_WORDS[x.rank]})")
    assert x.h is not None and x.w is not None
    return x.h, x.w, x.c


_RANK_WORDS = {1: "one axis and channels, LxC", 3: "a volume DxHxWxC"}


def written_axis(x: Shape, axis: int) -> int:
    """`axis=` of concat and slice, counted in the written order (negative from the end), as an index of `x.dims()`."""
    count = len(x.dims())
    where = axis + count if axis < 0 else axis
    if not 0 <= where < count:
        raise OpError(f"axis={axis} does not exist: {x.text()} has axes 0..{count - 1}")
    return where


def repeat_factor(count: int) -> tuple[str, dict[str, int]]:
    """The factor of batch-like axes in a cost formula: `B*` and its value, or nothing when they repeat nothing."""
    return ("B*", {"B": count}) if count > 1 else ("", {})


def need_spatial(op: str, x: Shape) -> tuple[int, ...]:
    """The window axes of an op that slides along 1, 2 or 3 of them (conv, pools)."""
    if not x.spatial:
        raise OpError(f"{op} needs a map (LxC, HxWxC or DxHxWxC), but its input is a vector of {x.c}: reshape it first")
    return x.sizes
