/*
 * xbc_progress.h - one updating progress line on stderr.
 *
 * The line shows the input bytes read, the rate and, when the input's size
 * is known (a regular file, as --input or on standard input), the
 * percentage and the time left; the time left only once a rate is known,
 * after XBC_PROGRESS_RATE_AFTER seconds of reading (the first redraw, on
 * the first bytes, would extrapolate from nothing).  It is redrawn in place (ending in '\r')
 * at most XBC_PROGRESS_HZ times a second, and ends with a newline when the
 * run is over.  It is shown when stderr is a terminal, or when asked for
 * with --progress, and never with --no-progress.  Every other message
 * (xbc_say) first clears it, so that messages and the line never mix.
 */
#ifndef XBC_PROGRESS_H
#define XBC_PROGRESS_H

#include "xbc_options.h"

#include <stdbool.h>
#include <stdint.h>

#define XBC_PROGRESS_HZ 4
#define XBC_PROGRESS_RATE_AFTER 1.0 /* seconds */

struct xbc_progress {
    bool on;          /* drawing at all */
    bool tty;         /* stderr is a terminal */
    uint64_t total;   /* input size, or 0 when unknown */
    double t0;        /* start */
    double last;      /* time of the last redraw; < 0 before the first */
    uint64_t done;    /* bytes done at the last update */
    int width;        /* length of the line on screen, to blank it */
};

/* Decides whether to draw and takes the input's size from fstat(in_fd)
 * when it is a regular file.  XBC_PROGRESS_AUTO draws when stderr is a
 * terminal, unless the run writes to stdout (`writes_stdout`) and that is
 * a terminal too: the line would then land among the output (--info's
 * listing, say). */
void xbc_progress_start(struct xbc_progress *pg, enum xbc_progress_mode mode, int in_fd,
                        bool writes_stdout);

/* Bytes done so far; redraws when the last redraw is old enough. */
void xbc_progress_update(struct xbc_progress *pg, uint64_t done);

/* Draws the final state and ends the line; the progress stops. */
void xbc_progress_finish(struct xbc_progress *pg);

/* Blanks the line on screen (if one is showing) before another message;
 * the next update redraws it. */
void xbc_progress_clear(void);

#endif /* XBC_PROGRESS_H */
