#!/bin/bash
# The largest thread count the CLI accepts (256) must work for both
# directions, or be refused up front: never fail half-way with an engine
# error.  Kept apart from test_options.sh so an engine limit shows here.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

case_ "decrypt with 256 threads"
xb -v -d -a AES256 -f "$K32" -t 256 <"$FIX/det/aes256_p200000.xbcrypt"
expect_rc 0
expect_err '256 threads'
expect_out_same "$P/p200000.bin"

case_ "encrypt with 256 threads"
xb -v -a AES256 -f "$K32" -t 256 -s 1k <"$P/p200000.bin"
expect_rc 0
"$XBCRYPT" -d -a AES256 -f "$K32" <"$W/out" >"$W/back" 2>/dev/null
expect_same "$W/back" "$P/p200000.bin"

finish
