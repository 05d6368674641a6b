#!/usr/bin/env python3
"""lint_library.py PLUGIN_DIR

Library code (every .c and .h under plugin/) must never end, stop or talk
for its host: no exit/abort/assert, no printf-family or stdio output, no
signal handlers, no setjmp/longjmp.  snprintf/vsnprintf into a buffer are
fine.  Comments, string and character literals are blanked before the
search, so prose such as "never calls exit()" is not a finding.
"""
import pathlib
import re
import sys

FORBIDDEN = [
    # ending the process
    "exit", "_exit", "_Exit", "quick_exit", "abort", "assert",
    # printing
    "printf", "fprintf", "vprintf", "vfprintf", "dprintf", "vdprintf",
    "puts", "fputs", "putchar", "putc", "fputc", "perror", "putchar_unlocked",
    "fputs_unlocked", "putc_unlocked", "fputc_unlocked", "err", "errx", "warn",
    "warnx", "verr", "verrx", "vwarn", "vwarnx", "error", "error_at_line", "syslog",
    "vsyslog", "psignal", "psiginfo",
    # signals
    "signal", "sigaction", "sigset", "sighold", "sigrelse", "sigignore", "bsd_signal",
    "sysv_signal", "raise", "kill", "pthread_kill", "sigprocmask",
    # non-local jumps
    "setjmp", "longjmp", "sigsetjmp", "siglongjmp", "_setjmp", "_longjmp",
]
CALL = re.compile(r"(?<![\w.>])(" + "|".join(map(re.escape, FORBIDDEN)) + r")\s*\(")
STREAMS = re.compile(r"\b(stdout|stderr)\b")
TOKENS = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def blank(match):
    # keep line numbers: replace everything but newlines
    return re.sub(r"[^\n]", " ", match.group(0))


def main():
    root = pathlib.Path(sys.argv[1])
    files = sorted(p for p in root.rglob("*") if p.suffix in (".c", ".h"))
    if not files:
        print(f"no sources under {root}")
        return 1
    findings = 0
    for path in files:
        code = TOKENS.sub(blank, path.read_text(encoding="utf-8"))
        for no, line in enumerate(code.split("\n"), 1):
            for m in CALL.finditer(line):
                print(f"{path}:{no}: library code calls {m.group(1)}()")
                findings += 1
            for m in STREAMS.finditer(line):
                print(f"{path}:{no}: library code uses {m.group(1)}")
                findings += 1
    print(f"checked {len(files)} files under {root}: {findings} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
