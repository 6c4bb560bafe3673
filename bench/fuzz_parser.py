"""Coverage-guided fuzzing of the spec parser and the analysis with atheris (libFuzzer), run on demand.

    .venv/bin/pip install atheris
    .venv/bin/python bench/fuzz_parser.py -atheris_runs=200000          # a bounded run
    .venv/bin/python bench/fuzz_parser.py -max_total_time=600 corpus/   # ten minutes, keeping a corpus

Any input must give a report or a `CnnCalcError`; anything else (an IndexError, a RecursionError, a hang caught by
libFuzzer's -timeout) is a crash that libFuzzer saves as crash-* with the input that caused it. The seeds are the
zoo's specs, so mutation starts from real networks. Results of the runs made so far: docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    import cnncalc
    from cnncalc import zoo
    from cnncalc.errors import CnnCalcError
    from cnncalc.spec import parse_spec


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    with contextlib.suppress(CnnCalcError):
        cnncalc.load(parse_spec(text, source="fuzz.cnn", name="fuzz")).to_dict()


def seeds() -> list[bytes]:
    return [cnncalc.load(name).to_spec().encode() for name in zoo.names()[:20]]


if __name__ == "__main__":
    if not any(not a.startswith("-") for a in sys.argv[1:]):
        import os
        import tempfile

        corpus = tempfile.mkdtemp(prefix="cnncalc-fuzz-")
        for i, seed in enumerate(seeds()):
            with open(os.path.join(corpus, f"seed{i}"), "wb") as f:
                f.write(seed)
        sys.argv.append(corpus)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
