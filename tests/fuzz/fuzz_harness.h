/*
 * fuzz_harness.h - the one function every harness in tests/fuzz defines.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput() and nothing else with
 * external linkage.  It is linked either with libFuzzer
 * (-Dfuzzing_engine=libfuzzer) or with replay_driver.c, which calls it once
 * per file of a seed corpus so the harness runs as an ordinary test.
 *
 * A harness returns 0 and calls abort() when one of its invariants fails:
 * libFuzzer reports that as a crash and saves the input; the replay driver
 * dies with SIGABRT, which meson counts as a failure.
 */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FUZZ_HARNESS_H */
