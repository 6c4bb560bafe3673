"""The web page of `cnncalc serve` and its JSON API (Starlette). Every figure comes from the calls the CLI makes.

Nothing the page sends is run as code: a spec is always text handed to `parse_spec` (never a path, never a
`file.py:Name` reference, which `cnncalc.load` would import), a zoo model is looked up by name, and `load` only
ever gets the resulting Graph.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__, zoo
from ..api import Model, load
from ..errors import CnnCalcError, SpecError
from ..ir import Graph
from ..report import Report
from ..spec import parse_spec

STATIC = Path(__file__).parent / "static"
MAX_BODY = 256 * 1024  # bytes of a request body (or of a spec in a query string)
MAX_LAYERS = 20_000  # layers of a spec, counted on its text before it is parsed
# Diagnosing answers and drawing grow faster than linearly with the layers (20,000 take over a minute each), so
# they take smaller networks; the largest zoo model has under 900 layers.
MAX_CHECK_LAYERS = 2_000
MAX_DRAW_LAYERS = 2_000
FIGURES = ("params", "weights", "macs", "flops")  # what a checked total counts (`cnncalc check --of`)

# The fields each endpoint reads, and their JSON types; any other field is refused (a typo would be ignored).
SOURCE = {"spec": str, "zoo": str, "name": str, "options": dict, "input": str, "layout": str}
REPORT = {**SOURCE, "bias": bool, "strict": bool, "steps": bool}
EXPORT = {**SOURCE, "bias": bool, "strict": bool}
CHECK = {**SOURCE, "no_bias": bool, "total": (str, int), "of": str, "answers_csv": str}
MEMORY = {**EXPORT, "batch": int, "dtype": str, "training": bool, "optimizer": str, "amp": str,
          "checkpoint": (str, int), "fit": str, "foreach": bool}  # fmt: skip

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class ApiError(Exception):
    """A request the API refuses: its status and a message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(exc: CnnCalcError | ApiError) -> dict[str, Any]:
    """{"error", "line", "layer"}: a SpecError says where in the spec; other errors have no place."""
    if isinstance(exc, SpecError):
        return {"error": exc.message, "line": exc.line, "layer": exc.layer}
    return {"error": exc.message if isinstance(exc, ApiError) else str(exc), "line": None, "layer": None}


# ----------------------------------------------------------------------------- reading requests


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object of a request, refused past MAX_BODY bytes whether or not it says its length."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "send the request as JSON (Content-Type: application/json)")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise ApiError(413, f"the request is over {MAX_BODY // 1024} KiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, f"the request is over {MAX_BODY // 1024} KiB")
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None
    except ValueError as exc:  # a number past Python's 4,300 digits, or NaN / Infinity
        raise ApiError(400, f"the body is not valid JSON: {str(exc)[:100]}") from None
    except RecursionError:
        raise ApiError(400, "the body is not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(400, 'the body must be a JSON object, e.g. {"spec": "input 32x32x3\\nconv 16 k=3"}')
    return data


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def checked_fields(data: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields with their types checked; null counts as absent."""
    out = {}
    for key, value in data.items():
        if key not in fields:
            raise ApiError(400, f"unknown field {key!r} (fields: {', '.join(fields)})")
        if value is None:
            continue
        kind = fields[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join({str: "a string", bool: "true or false", int: "a number", dict: "an object"}[k]
                                for k in kinds)  # fmt: skip
            raise ApiError(400, f"{key} must be {names}")
        out[key] = value
    return out


def count_layers(text: str) -> int:
    """Lines that hold a layer: not blank, not only a comment, not a `set` line."""
    n = 0
    for raw in text.splitlines():
        s = raw.split("#", 1)[0].strip()
        if s and s != "set" and not s.startswith("set "):
            n += 1
    return n


def model_name(name: str | None) -> str:
    if name is None:
        return "spec"
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise ApiError(400, "name must be 1 to 100 printable characters")
    return name


def graph_of(data: Mapping[str, Any]) -> Graph:
    """The network a request names: spec text (parsed here, as text only) or a zoo model with its options."""
    spec, name, options = data.get("spec"), data.get("zoo"), data.get("options") or {}
    if (spec is None) == (name is None):
        raise ApiError(400, "give either spec (the text of a spec) or zoo (the name of a zoo model)")
    if any(not isinstance(v, str | int | float | bool) for v in options.values()):
        raise ApiError(400, 'options are key: value pairs of text, numbers or true/false, e.g. {"aux": true}')
    if name is not None:
        zoo.get(name)  # an unknown name raises, with the names it resembles
        graph = zoo.build(name, options)
        if len(graph.nodes) > MAX_LAYERS:  # options such as a depth can make a zoo model of any size
            raise ApiError(
                413, f"this model has {len(graph.nodes):,} layers; the web page takes at most {MAX_LAYERS:,}"
            )
        return graph
    if options:
        raise ApiError(400, f"options ({', '.join(options)}) apply to zoo models only")
    layers = count_layers(spec)
    if layers > MAX_LAYERS:
        raise ApiError(
            413,
            f"the spec has {layers:,} layers; the web page takes at most {MAX_LAYERS:,} "
            "(`cnncalc show` on the command line has no limit)",
        )
    return parse_spec(spec, source="spec", name=model_name(data.get("name")))


def load_model(data: Mapping[str, Any], bias: bool | None = None) -> Model:
    layout = data.get("layout", "hwc")
    if layout not in ("hwc", "chw"):
        raise ApiError(400, f"layout {layout!r}: use hwc or chw")
    graph = graph_of(data)
    return load(
        graph,
        input=data.get("input") or None,
        bias=data.get("bias", True) if bias is None else bias,
        strict=data.get("strict", False),
        layout=layout,
    )


# ----------------------------------------------------------------------------- the work (run in a thread)


def worked_steps(report: Report) -> dict[str, Any]:
    """`cnncalc show --explain` cut per layer: {"layers": {name: [lines]}, "totals": [lines]}."""
    from ..render.explain import explain_text

    blocks = explain_text(report).rstrip("\n").split("\n\n")
    layers = report.layers
    if len(blocks) == len(layers) + 2 and all(
        b.startswith(f"{x.name} (") for x, b in zip(layers, blocks[1:-1], strict=True)
    ):
        steps = {x.name: b.splitlines() for x, b in zip(layers, blocks[1:-1], strict=True)}
        return {"layers": steps, "totals": [s.strip() for s in blocks[-1].splitlines()[1:]]}
    # Not the layout expected: each step as its formula with the values put in, then the warnings.
    steps = {x.name: [f"{x.name} ({x.op})", *(s.plain() for s in x.steps), *x.warnings] for x in layers}
    return {"layers": steps, "totals": []}


def too_many(model: Model, limit: int, what: str, command: str) -> None:
    if len(model.layers) > limit:
        raise ApiError(
            413,
            f"{what} takes networks of up to {limit:,} layers here; this one has {len(model.layers):,} "
            f"(`{command}` on the command line has no limit)",
        )


def report_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON report of `cnncalc show --format json`; with steps, also "worked" and each layer's spec line."""
    model = load_model(data)
    out = model.to_dict()
    if data.get("steps"):
        out["worked"] = worked_steps(model.report)
        out["lines"] = {x.name: x.line for x in model.layers if x.line is not None}
    return out


def check_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """`cnncalc check --format json`: verdicts, diagnoses, the convention; with no answer, whether the spec is valid."""
    from ..teach.answers import Checked, check_answers, check_total, parse_number
    from ..teach.diagnose import Network, figure_name

    of = data.get("of", "params")
    if of not in FIGURES:
        raise ApiError(400, f"of={of!r}: use one of {', '.join(FIGURES)}")
    no_bias = data.get("no_bias", False)
    total = data.get("total")
    total = None if isinstance(total, str) and not total.strip() else total
    answers = data.get("answers_csv")
    answers = None if answers is not None and not answers.strip() else answers
    model = load_model(data, bias=not no_bias)
    if total is None and answers is None:
        return {"ok": True, "message": f"ok, {len(model.layers)} layers", "verdicts": [], "skipped": []}
    too_many(model, MAX_CHECK_LAYERS, "checking answers", "cnncalc check")
    net = Network(model)
    checked = Checked([], [])
    if total is not None:
        try:
            claimed = parse_number(str(total))
        except ValueError as exc:
            raise ApiError(400, f"total {total}: {exc}") from None
        checked.verdicts.append(check_total(net, of, claimed))
    if answers is not None:
        found = check_answers(net, answers, "answers")
        checked.verdicts += found.verdicts
        checked.skipped += found.skipped
        if not found.verdicts:
            raise ApiError(400, "answers: no answer could be read" + "".join(
                f"\n  line {s.line}: {s.message}" for s in found.skipped))  # fmt: skip
    convention = figure_name(of if total is not None else "params", not no_bias)
    return {**checked.to_dict(), "convention": convention}


_ZOO: list[dict[str, Any]] = []


def zoo_list() -> list[dict[str, Any]]:
    """Every zoo model at its default input, as `cnncalc zoo --format json` lists them (made once)."""
    if not _ZOO:
        rows = []  # made whole, then kept: a failure half-way leaves nothing half made
        for name in zoo.names():
            entry = zoo.get(name)
            model = load(zoo.build(name))
            rows.append({
                "name": name,
                "summary": entry.summary,
                "input": model.report.inputs[0][1].text(),
                "params": model.totals.params,
                "buffers": model.totals.buffers,
                "macs": model.totals.macs,
                "options": dict(entry.options),
                "source": entry.source,
            })  # fmt: skip
        _ZOO[:] = rows
    return _ZOO


def zoo_model(name: str, options: dict[str, str]) -> dict[str, Any]:
    try:
        entry = zoo.get(name)
    except CnnCalcError as exc:
        raise ApiError(404, str(exc)) from None
    model = load(graph_of({"zoo": name, "options": options}))
    return {
        "name": name,
        "summary": entry.summary,
        "source": entry.source,
        "options": dict(entry.options),
        "spec": model.to_spec(),
        "report": model.to_dict(),
    }


def filename(model: Model, ext: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", model.name).strip("._") or "network"
    return f"{stem}.{ext}"


def has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def export_of(fmt: str, data: Mapping[str, Any]) -> tuple[str, str, str]:
    """(text, file name, media type) of one download."""
    from ..render import render_csv, render_json, render_markdown
    from ..render.explain import explain_latex

    if fmt == "torch" and not has_torch():
        raise ApiError(501, "PyTorch code needs PyTorch on the server: pip install 'cnncalc[torch]'")
    model = load_model(data)
    if fmt == "json":
        return render_json(model.report), filename(model, "json"), "application/json"
    if fmt == "csv":
        return render_csv(model.report), filename(model, "csv"), "text/csv; charset=utf-8"
    if fmt == "md":
        return render_markdown(model.report), filename(model, "md"), "text/markdown; charset=utf-8"
    if fmt == "latex":
        return explain_latex(model.report), filename(model, "tex"), "application/x-tex; charset=utf-8"
    if fmt == "spec":
        return model.to_spec(), filename(model, "cnn"), "text/plain; charset=utf-8"
    return model.to_torch_source(), filename(model, "py"), "text/x-python; charset=utf-8"


EXPORTS = ("json", "csv", "md", "latex", "spec", "torch")


def draw_of(data: Mapping[str, Any]) -> str:
    model = load_model(data)
    too_many(model, MAX_DRAW_LAYERS, "the diagram", "cnncalc draw")
    try:
        from ..render.draw import render_svg
    except ImportError as exc:
        message = f"the diagram is not available on this server ({exc}): pip install 'cnncalc[draw]'"
        raise ApiError(501, message) from None
    return render_svg(model)


def memory_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """`cnncalc memory --format json` for the same network and options (training implied by an optimizer, --amp or
    --checkpoint, as on the command line). The work is linear in the layers, which the spec limit bounds."""
    from ..ir import MAX_SIZE
    from ..teach.memory import AMP, DTYPES, OPTIMIZERS, estimate

    batch = data.get("batch", 1)
    if not 1 <= batch <= MAX_SIZE:
        raise ApiError(400, f"batch must be 1 to {MAX_SIZE:,}, got {str(batch)[:40]}")
    choices = {"dtype": DTYPES, "optimizer": OPTIMIZERS, "amp": AMP}
    for key, allowed in choices.items():
        if key in data and data[key] not in allowed:
            raise ApiError(400, f"{key} must be one of {', '.join(allowed)}, got {str(data[key])[:40]!r}")
    model = load_model({k: v for k, v in data.items() if k in EXPORT})
    training = bool(data.get("training")) or any(k in data for k in ("optimizer", "amp", "checkpoint"))
    result = estimate(
        model,
        batch=batch,
        dtype=data.get("dtype", "fp32"),
        optimizer=data.get("optimizer", "sgd"),
        training=training,
        amp=data.get("amp"),
        fit=data.get("fit"),
        foreach=data.get("foreach", True),
        checkpoint=data.get("checkpoint"),
    )
    return result.to_dict()  # type: ignore[no-any-return]


_LOCK = threading.Lock()


def _serial(fn: Callable[..., Any], *args: Any) -> Any:
    # One network at a time: the work is pure Python (the GIL allows no more), and cnncalc's caches are filled
    # by one thread only.
    with _LOCK:
        try:
            return fn(*args)
        finally:
            trim_caches()


# cnncalc's caches make the CLI fast on repeated layers, but grow with every distinct spec a long-running server
# sees (5,000 distinct specs took it from 46 MB to 1.48 GB). Past this many distinct layer signatures they are all
# emptied together: layer signatures are numbers handed out by ir.py, remembered by the parser's, the analysis'
# and the zoo's caches, so clearing one alone would let an old number stand for a new layer.
MAX_CACHED_SIGNATURES = 20_000


def trim_caches(limit: int = MAX_CACHED_SIGNATURES) -> bool:
    """Empty cnncalc's caches if they hold more than `limit` layer signatures; True if they were emptied."""
    from .. import builder, expr, ir

    analyze = importlib.import_module("cnncalc.passes.analyze")  # the package exports a function of that name
    parser = importlib.import_module("cnncalc.spec.parser")

    if len(ir._SIGNATURES) <= limit and len(zoo._BUILT) <= 200 and sum(map(len, analyze._ROWS.values())) <= limit:
        return False
    ir._SIGNATURES.clear()
    analyze._ROWS.clear()
    parser._PARSED.clear()
    for layers in parser._LAYERS.values():
        layers.clear()
    builder._PARSED.clear()
    zoo._BUILT.clear()
    expr._compiled.cache_clear()
    return True


async def compute(fn: Callable[..., Any], *args: Any) -> Any:
    """Run cnncalc's work off the event loop, so the page's files are served while a network is worked out."""
    return await run_in_threadpool(_serial, fn, *args)


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json")


# ----------------------------------------------------------------------------- endpoints


Handler = Callable[[Request], Awaitable[Response]]


def api(fn: Handler) -> Handler:
    """Refusals as JSON: {"error": message, "line": N or null, "layer": name or null}."""

    async def handler(request: Request) -> Response:
        try:
            return await fn(request)
        except ApiError as exc:
            return JSONResponse(error_body(exc), status_code=exc.status)
        except CnnCalcError as exc:
            return JSONResponse(error_body(exc), status_code=400)

    return handler


@api
async def post_report(request: Request) -> Response:
    data = checked_fields(await read_body(request), REPORT)
    return await compute(lambda: json_response(report_of(data)))


@api
async def post_check(request: Request) -> Response:
    data = checked_fields(await read_body(request), CHECK)
    return await compute(lambda: json_response(check_of(data)))


@api
async def post_memory(request: Request) -> Response:
    data = checked_fields(await read_body(request), MEMORY)
    return await compute(lambda: json_response(memory_of(data)))


@api
async def get_zoo(request: Request) -> Response:
    return await compute(lambda: json_response(zoo_list()))


@api
async def get_zoo_model(request: Request) -> Response:
    options = dict(request.query_params)
    return await compute(lambda: json_response(zoo_model(request.path_params["name"], options)))


def _svg(svg: str) -> Response:
    headers = {"Content-Security-Policy": SVG_POLICY}
    return Response(svg, media_type="image/svg+xml", headers=headers)


@api
async def post_draw(request: Request) -> Response:
    data = checked_fields(await read_body(request), EXPORT)
    return _svg(await compute(draw_of, data))


@api
async def post_export(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    if fmt not in EXPORTS:
        raise ApiError(404, f"no export {fmt!r}: use one of {', '.join(EXPORTS)}")
    data = checked_fields(await read_body(request), EXPORT)
    text, name, media = await compute(export_of, fmt, data)
    return Response(text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def get_info(request: Request) -> Response:
    return JSONResponse({
        "version": __version__,
        "exports": [f for f in EXPORTS if f != "torch" or has_torch()],
        "torch": has_torch(),
        "draw": importlib.util.find_spec("cnncalc.render.draw") is not None,
        "max_body": MAX_BODY,
        "max_layers": MAX_LAYERS,
        "max_check_layers": MAX_CHECK_LAYERS,
        "max_draw_layers": MAX_DRAW_LAYERS,
    })  # fmt: skip


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_POLICY})


async def not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if request.url.path.startswith("/api/"):
        detail = exc.detail if isinstance(exc, HTTPException) else "error"
        return JSONResponse({"error": f"{request.method} {request.url.path}: {detail}"}, status_code=status)
    return Response(exc.detail if isinstance(exc, HTTPException) else "error", status_code=status)


class Headers:
    """Headers every response gets: no sniffing, no framing, no referrer; the page's files are revalidated."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-cache"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Names the server answers to. A page elsewhere can point a name it owns at 127.0.0.1 (DNS rebinding) and then
# read the answers as same-origin; a Host header outside this list stops that. "testserver" is what Starlette's
# TestClient sends (it has no dot, so no public DNS name can be it).
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1", "testserver")


def host_name(value: str) -> str:
    """`example.com:8000` -> `example.com`; `[::1]:8000` -> `[::1]`."""
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """Refuses (403) a request whose Host is not this server's, and a cross-site one: an Origin other than the
    Host, or a browser's `Sec-Fetch-Site: cross-site` (an `<img src>` or a form on another site)."""

    def __init__(self, app: ASGIApp, hosts: tuple[str, ...] = ()) -> None:
        self.app = app
        self.hosts = {host_name(h) for h in (*LOCAL_HOSTS, *hosts)}
        self.any_host = any(h in ("0.0.0.0", "::", "[::]") for h in hosts)  # every interface: names unknown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = host_name(headers.get("host", ""))
        problem = None
        if not self.any_host and host not in self.hosts:
            problem = f"this server answers to {', '.join(sorted(self.hosts - {'testserver', '::1'}))}, not {host!r}"
        elif headers.get("sec-fetch-site") == "cross-site" or (
            "origin" in headers and headers["origin"].split("://", 1)[-1].lower() != headers.get("host", "").lower()
        ):
            problem = "a page on another site cannot use this server"
        if problem is None:
            await self.app(scope, receive, send)
            return
        response = JSONResponse({"error": problem, "line": None, "layer": None}, status_code=403)
        await response(scope, receive, send)


@contextlib.asynccontextmanager
async def warm_up(app: Starlette) -> AsyncIterator[None]:
    """Work out the zoo list in the background as the server starts, so the page's first request finds it made."""
    threading.Thread(target=_serial, args=(zoo_list,), daemon=True, name="cnncalc-zoo").start()
    yield


def create_app(hosts: tuple[str, ...] = ()) -> Starlette:
    """The ASGI app: the page at /, its files under /static, the API under /api. It answers to localhost,
    127.0.0.1 and [::1], and to `hosts` (the address `cnncalc serve --host` listens on)."""
    from .exercise import routes as exercise_routes  # here: that module reads this one's helpers

    routes = [
        *exercise_routes,
        Route("/", index),
        Route("/api/info", get_info),
        Route("/api/report", post_report, methods=["POST"]),
        Route("/api/check", post_check, methods=["POST"]),
        Route("/api/memory", post_memory, methods=["POST"]),
        Route("/api/zoo", get_zoo),
        Route("/api/zoo/{name}", get_zoo_model),
        Route("/api/draw", post_draw, methods=["POST"]),
        Route("/api/export/{fmt}", post_export, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found}, lifespan=warm_up)
    app.add_middleware(Guard, hosts=hosts)  # before every route; inside Headers
    app.add_middleware(Headers)
    return app


app = create_app()
