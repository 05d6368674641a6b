#!/usr/bin/env python3
"""extract_example.py HEADER OUTPUT [N]

Writes the @code ... @endcode example of a public header (the N-th, from 0;
default the first) to OUTPUT as a C file (with a main that does nothing), so
the headers suite can check that the example a tool author copies compiles
cleanly."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
index = int(sys.argv[3]) if len(sys.argv) > 3 else 0
examples = list(re.finditer(r"@code\n(.*?)@endcode", text, re.S))
if len(examples) <= index:
    sys.exit(f"{sys.argv[1]}: no @code example number {index}")
match = examples[index]
lines = [re.sub(r"^ \*( {1,3}|$)", "", line) for line in match.group(1).split("\n")]
with open(sys.argv[2], "w", encoding="utf-8") as out:
    out.write(f"/* Generated from the @code example of {sys.argv[1]}. */\n")
    out.write("\n".join(lines).rstrip() + "\n\n")
    out.write("int main(void)\n{\n    return 0;\n}\n")
