#!/usr/bin/env python3
"""Compiles every ```cpp block of a Markdown file, verbatim, and fails if one does not compile.

The rule for a block:
  - a block that holds `int main` is a whole program and is compiled as it stands;
  - any other block is a fragment, the statements of a program: it is compiled as the body of
    a function `void readme_block_<line>()`, after `#include <nabla/nabla.hpp>` and
    `#include <iostream>` (fragments print with std::cout, as the programs do).
Each block is compiled on its own with `<cxx> -std=c++17 -Wall -Wextra -Werror -fsyntax-only`
and the flags given (include paths of nabla and Eigen, nabla's defines), so templates are
instantiated and type-checked but nothing is linked or run. A `#line` directive makes errors
point at the block's lines in the Markdown file. Blocks in other languages (sh, cmake) are not
checked. Prints one line per block; exits 1 if any block fails (or the file holds no cpp
block), 2 on bad arguments.

    python3 scripts/check_readme_code.py README.md --cxx g++ -- \\
        -Iinclude -isystem /usr/include/eigen3 -DNABLA_HAS_ZLIB=1

tests/CMakeLists.txt runs it on README.md as the ctest readme_code_compiles, with the flags of
nabla::nabla in the build being tested (written to a file, --flags-file, one flag a line).
"""
import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```cpp[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
MAIN = re.compile(r"\bint\s+main\s*\(")
STANDARD_FLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]


def blocks(markdown):
    """(first line of the code, 1-based, code) for each ```cpp block."""
    for match in FENCE.finditer(markdown):
        line = markdown.count("\n", 0, match.start(1)) + 1
        yield line, match.group(1)


def translation_unit(path, line, code):
    where = f'#line {line} "{path}"\n'
    if MAIN.search(code):
        return where + code
    return (
        "#include <nabla/nabla.hpp>\n#include <iostream>\n"
        f"void readme_block_{line}();\nvoid readme_block_{line}() {{\n" + where + code + "}\n"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("markdown", type=pathlib.Path)
    parser.add_argument("--cxx", default="c++", help="the C++ compiler (default c++)")
    parser.add_argument("--flags-file", type=pathlib.Path,
                        help="more compiler flags, one a line (blank lines ignored)")
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    try:
        markdown = args.markdown.read_text(encoding="utf-8")
        extra = []
        if args.flags_file:
            extra = [f for f in args.flags_file.read_text(encoding="utf-8").splitlines() if f.strip()]
    except OSError as error:
        print(f"check_readme_code: {error}", file=sys.stderr)
        return 2
    extra += flags

    found = list(blocks(markdown))
    if not found:
        print(f"check_readme_code: {args.markdown} holds no ```cpp block", file=sys.stderr)
        return 1

    failed = 0
    with tempfile.TemporaryDirectory(prefix="readme_code_") as scratch:
        for line, code in found:
            kind = "program" if MAIN.search(code) else "fragment"
            source = pathlib.Path(scratch) / f"block_{line}.cpp"
            source.write_text(translation_unit(args.markdown, line, code), encoding="utf-8")
            command = [args.cxx, *STANDARD_FLAGS, *extra, str(source)]
            result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, check=False)
            if result.returncode == 0:
                print(f"{args.markdown}:{line}: the {kind} compiles")
            else:
                failed += 1
                print(f"{args.markdown}:{line}: the {kind} does not compile:\n{result.stdout}")
    if failed:
        print(f"check_readme_code: {failed} of {len(found)} cpp blocks do not compile")
        return 1
    print(f"check_readme_code: all {len(found)} cpp blocks compile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
