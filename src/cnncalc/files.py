"""Reading the files users name (specs, answer tables, class files) with a size limit.

A path may name a directory, a FIFO that never ends, or a device such as /dev/zero: only regular files are read, and
never more than MAX_FILE bytes, so no input can hold a command or fill the memory.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from .errors import CnnCalcError

MAX_FILE = 64 * 1024 * 1024  # bytes: a 200,000-layer spec is about 5 MB, a 100,000-student class file 4 MB


def read_text_file(path: str | Path) -> str:
    """The UTF-8 text of a regular file of at most MAX_FILE bytes; one clear CnnCalcError otherwise."""
    try:
        # Non-blocking, so that a FIFO with no writer does not hold the open; its kind is checked on the open file.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CnnCalcError(f"{path}: cannot read it: no such file") from None
    except IsADirectoryError:
        raise CnnCalcError(f"{path}: a directory, not a file") from None
    except OSError as exc:
        raise CnnCalcError(f"{path}: cannot read it: {exc.strerror}") from None
    info = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(info.st_mode):
        problem = f"{path}: a directory, not a file"
    elif not stat.S_ISREG(info.st_mode):
        problem = f"{path}: not a regular file (a FIFO, device or socket); save its text to a file"
    elif info.st_size > MAX_FILE:
        problem = f"{path}: {info.st_size:,} bytes, over the limit of {MAX_FILE:,} bytes"
    if problem:
        os.close(fd)
        raise CnnCalcError(problem)
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(MAX_FILE + 1)
        except OSError as exc:
            raise CnnCalcError(f"{path}: cannot read it: {exc.strerror}") from None
    if len(data) > MAX_FILE:
        raise CnnCalcError(f"{path}: over the limit of {MAX_FILE:,} bytes")
    return decode(data, str(path))


def read_stdin() -> str:
    """Standard input as text, at most MAX_FILE bytes."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes underneath
        text = sys.stdin.read(MAX_FILE + 1)
        if len(text) > MAX_FILE:
            raise CnnCalcError(f"<stdin>: over the limit of {MAX_FILE:,} characters")
        return text
    data = stream.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise CnnCalcError(f"<stdin>: over the limit of {MAX_FILE:,} bytes")
    return decode(data, "<stdin>")


def decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CnnCalcError(f"{where}: not a UTF-8 text file (byte {exc.start:,} is {data[exc.start]:#04x})") from None
