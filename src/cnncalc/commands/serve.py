"""`cnncalc serve`: the web page and its JSON API on uvicorn (needs the `web` extra: starlette, uvicorn)."""

from __future__ import annotations

import socket
import sys

import click

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="the address to listen on (0.0.0.0: every interface, reachable from other machines)")  # fmt: skip
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="the port (0: any free one)")  # fmt: skip
def command(host: str, port: int) -> None:
    """Serve the web page: a spec editor, the layer table as you type, worked steps, the diagram, downloads,
    answer checking and share links, with the JSON API under /api (see docs/web.md)."""
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        fail("cnncalc serve needs the web extra: pip install 'cnncalc[web]'")
        return
    from ..web.app import create_app

    app = create_app(hosts=(host,))

    # Bound here, so a port in use is one clear line and exit 2, and --port 0 can say which port it got. The protocol
    # must be named: asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, and without it every
    # answer on a kept-alive connection waits 40 ms for a delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}" + (" (try --port)" if port else ""))
        return
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"cnncalc: serving http://{shown}:{bound}/ (Ctrl+C stops it)", err=True)
    if host not in LOOPBACK:
        click.echo(f"cnncalc: {host} is not a loopback address: other machines can reach this page", err=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
