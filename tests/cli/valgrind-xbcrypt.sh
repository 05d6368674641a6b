#!/bin/sh
# Stands in for the xbcrypt binary in the cli-valgrind tests: becomes the
# real one (XBCRYPT_REAL) under memcheck, in the same process, so signals,
# limits and file descriptors reach it as they would reach xbcrypt.  A
# memory error or a definite leak makes it exit 99, which no test expects,
# and memcheck's report lands on stderr, outside the message grammar that
# every CLI test checks.
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$XBCRYPT_REAL" "$@"
