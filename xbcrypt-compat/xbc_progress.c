/* xbc_progress.c - one updating progress line on stderr; see xbc_progress.h. */
#include "xbc_progress.h"
#include "xbc_common.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The line being shown, for xbc_progress_clear() (one per process). */
static struct xbc_progress *shown;

void xbc_progress_start(struct xbc_progress *pg, enum xbc_progress_mode mode, int in_fd,
                        bool writes_stdout)
{
    memset(pg, 0, sizeof *pg);
    pg->tty = isatty(STDERR_FILENO) == 1;
    pg->on = mode == XBC_PROGRESS_ON ||
             (mode == XBC_PROGRESS_AUTO && pg->tty &&
              !(writes_stdout && isatty(STDOUT_FILENO) == 1));
    struct stat st;
    if (fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        pg->total = (uint64_t)st.st_size;
    pg->t0 = xbc_now();
    pg->last = -1.0;
}

/* "123.4 MiB" */
static void human(char *out, size_t len, uint64_t bytes)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024.0 && u + 1 < sizeof unit / sizeof unit[0]) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(out, len, "%llu B", (unsigned long long)bytes);
    else
        snprintf(out, len, "%.1f %s", v, unit[u]);
}

static void draw(struct xbc_progress *pg, double t, bool final)
{
    char done[32], total[32], line[160];
    double dt = t - pg->t0;
    double rate = dt > 0 ? (double)pg->done / dt : 0.0;
    human(done, sizeof done, pg->done);
    int n;
    if (pg->total) {
        human(total, sizeof total, pg->total);
        double frac = (double)pg->done / (double)pg->total;
        if (frac > 1.0)
            frac = 1.0;
        n = snprintf(line, sizeof line, "xbcrypt: %s of %s (%d%%), %.1f MB/s", done, total,
                     (int)(frac * 100.0), rate / 1e6);
        /* No time left before the rate means something. */
        bool rate_known = dt >= XBC_PROGRESS_RATE_AFTER && rate > 0;
        if (!final && rate_known && n > 0 && (size_t)n < sizeof line) {
            double left = (double)(pg->total - (pg->done < pg->total ? pg->done : pg->total)) /
                          rate;
            unsigned s = left < 359999.0 ? (unsigned)(left + 0.5) : 359999u;
            n += snprintf(line + n, sizeof line - (size_t)n, ", %u:%02u:%02u left", s / 3600,
                          s / 60 % 60, s % 60);
        }
    } else {
        n = snprintf(line, sizeof line, "xbcrypt: %s, %.1f MB/s", done, rate / 1e6);
    }
    if (final && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, ", %.1f s", dt);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    /* Pad over a longer previous line; one write per redraw. */
    int pad = pg->width > n ? pg->width - n : 0;
    fprintf(stderr, "%s%*s%c", line, pad, "", final ? '\n' : '\r');
    pg->width = final ? 0 : n;
    pg->last = t;
}

void xbc_progress_update(struct xbc_progress *pg, uint64_t done)
{
    if (!pg->on)
        return;
    pg->done = done;
    double t = xbc_now();
    if (pg->last >= 0 && t - pg->last < 1.0 / XBC_PROGRESS_HZ)
        return;
    shown = pg;
    draw(pg, t, false);
}

void xbc_progress_finish(struct xbc_progress *pg)
{
    if (!pg->on)
        return;
    draw(pg, xbc_now(), true);
    pg->on = false;
    shown = NULL;
}

void xbc_progress_clear(void)
{
    struct xbc_progress *pg = shown;
    if (!pg || pg->width == 0)
        return;
    /* On a terminal, blank the line and go back to its start; in a file,
     * end it.  The next update redraws. */
    if (pg->tty)
        fprintf(stderr, "%*s\r", pg->width, "");
    else
        fputc('\n', stderr);
    pg->width = 0;
    pg->last = -1.0;
}
