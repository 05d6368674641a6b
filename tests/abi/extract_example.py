#!/usr/bin/env python3
"""extract_example.py HEADER OUTPUT

Writes the @code ... @endcode example of a public header to OUTPUT as a C
file (with a main that does nothing), so the headers suite can check that
the example a tool author copies compiles cleanly."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
match = re.search(r"@code\n(.*?)@endcode", text, re.S)
if not match:
    sys.exit(f"{sys.argv[1]}: no @code example")
lines = [re.sub(r"^ \*( {1,3}|$)", "", line) for line in match.group(1).split("\n")]
with open(sys.argv[2], "w", encoding="utf-8") as out:
    out.write(f"/* Generated from the @code example of {sys.argv[1]}. */\n")
    out.write("\n".join(lines).rstrip() + "\n\n")
    out.write("int main(void)\n{\n    return 0;\n}\n")
