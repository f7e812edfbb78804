#!/usr/bin/env python3
"""Checks that the docs quote live code.

Every inline code span of the given Markdown files that reads as a line of C++ (ASCII, at least
ten characters, and holding ';', '.noalias()' or '->') must occur, whitespace aside and with or
without its final ';', in a header under include/ or a program under examples/. A fenced code
block right after a line `<!-- quote: PATH -->` must occur in the file PATH (from the project's
top directory) whole, whitespace aside: a program shown in full is the program that is built and
tested. Prints each quote that does not, and exits 1 if there is one; exits 2 when a file cannot
be read.

    python3 scripts/check_doc_quotes.py docs/backprop.md docs/architecture.md
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPAN = re.compile(r"`([^`\n]+)`")
BLOCK = re.compile(r"<!-- quote: (\S+) -->\n```[a-z]*\n(.*?)\n```", re.S)
CODE_MARK = re.compile(r";|\.noalias\(\)|->")


def squeeze(text):
    return re.sub(r"\s+", "", text)


def live_code():
    files = sorted(ROOT.glob("include/**/*.hpp")) + sorted(ROOT.glob("examples/*.cpp"))
    return squeeze("\n".join(f.read_text(encoding="utf-8") for f in files))


def quotes(markdown):
    for span in SPAN.findall(markdown):
        if len(span) >= 10 and span.isascii() and span == span.strip() and \
                CODE_MARK.search(span) and "..." not in span:
            yield span


def main(paths):
    if not paths:
        print(__doc__.strip())
        return 2
    code = live_code()
    stale = 0
    checked = 0
    for path in paths:
        try:
            markdown = (ROOT / path).read_text(encoding="utf-8")
        except OSError as error:
            print(f"{path}: cannot read: {error}")
            return 2
        for quote in quotes(markdown):
            checked += 1
            if squeeze(quote).rstrip(";") not in code:
                stale += 1
                print(f"{path}: quotes code that is not in include/ or examples/: {quote}")
        for source, block in BLOCK.findall(markdown):
            checked += 1
            try:
                text = (ROOT / source).read_text(encoding="utf-8")
            except OSError as error:
                print(f"{path}: quotes {source}, which cannot be read: {error}")
                return 2
            if squeeze(block) not in squeeze(text):
                stale += 1
                print(f"{path}: the block quoted from {source} is not in it:\n{block}")
    print(f"{checked} code quotes checked, {stale} stale")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
