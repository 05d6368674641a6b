/* xbc_mapped.c - mapped input and its SIGBUS guard; see xbc_mapped.h. */
#include "xbc_mapped.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The armed mapping, [lo, hi), read by the handler. */
static _Atomic uintptr_t guard_lo, guard_hi;
static atomic_bool faulted;
static uintptr_t page_size = 4096;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    const uintptr_t a = (uintptr_t)si->si_addr;
    const uintptr_t lo = atomic_load(&guard_lo), hi = atomic_load(&guard_hi);
    if (a >= lo && a < hi) {
        /* Past the file's new end: zeros from here to the mapping's end
         * (the rest of the file is gone too), so the access completes. */
        const uintptr_t from = a & ~(page_size - 1);
        atomic_store(&faulted, true);
        if (mmap((void *)from, hi - from, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                 0) != MAP_FAILED)
            return;
    }
    /* Not ours, or no way around it: the default action, on the retry. */
    signal(sig, SIG_DFL);
}

void xbc_map_guard_install(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0)
        page_size = (uintptr_t)ps;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

int xbc_map_open(struct xbc_map *m, int fd, uint64_t pos, uint64_t len)
{
    memset(m, 0, sizeof m[0]);
    const uint64_t start = pos & ~(uint64_t)(page_size - 1);
    const uint64_t lead = pos - start;
    if (len == 0 || len > SIZE_MAX / 4 || lead + len > SIZE_MAX / 4 || start > (uint64_t)INT64_MAX)
        return -1;
    void *p = mmap(NULL, (size_t)(lead + len), PROT_READ, MAP_SHARED, fd, (off_t)start);
    if (p == MAP_FAILED)
        return -1;
    m->base = (uint8_t *)p + lead;
    m->len = (size_t)len;
    m->lead = (size_t)lead;
    (void)madvise(p, (size_t)(lead + len), MADV_SEQUENTIAL);
    atomic_store(&guard_lo, (uintptr_t)p);
    atomic_store(&guard_hi, (uintptr_t)p + (uintptr_t)(lead + len));
    return 0;
}

void xbc_map_close(struct xbc_map *m)
{
    if (!m->base)
        return;
    atomic_store(&guard_lo, 0);
    atomic_store(&guard_hi, 0);
    (void)munmap(m->base - m->lead, m->lead + m->len);
    memset(m, 0, sizeof m[0]);
}

/* [off, off + len) of the mapping, widened to whole pages and clipped to it. */
static size_t span(const struct xbc_map *m, size_t off, size_t len, uint8_t **at)
{
    if (off >= m->len)
        return 0;
    if (len > m->len - off)
        len = m->len - off;
    uintptr_t a = (uintptr_t)(m->base + off);
    uintptr_t b = (uintptr_t)(m->base + off + len);
    a &= ~(page_size - 1);
    *at = (uint8_t *)a;
    return (size_t)(b - a);
}

void xbc_map_willneed(const struct xbc_map *m, size_t off, size_t len)
{
    uint8_t *at;
    size_t n = span(m, off, len, &at);
    if (n)
        (void)madvise(at, n, MADV_WILLNEED);
}

int xbc_map_populate(const struct xbc_map *m, size_t off, size_t len)
{
#ifdef MADV_POPULATE_READ
    uint8_t *at;
    size_t n = span(m, off, len, &at);
    /* EINVAL: a kernel before 5.14; the workers' faults do it instead. */
    if (n && madvise(at, n, MADV_POPULATE_READ) != 0 && errno == EFAULT)
        return -1;
#else
    (void)m;
    (void)off;
    (void)len;
#endif
    return 0;
}

void xbc_map_drop(const struct xbc_map *m, size_t off, size_t len)
{
    /* Whole pages inside the range only: the page the next slice begins
     * in may still be read. */
    if (off >= m->len)
        return;
    if (len > m->len - off)
        len = m->len - off;
    uintptr_t a = ((uintptr_t)(m->base + off) + page_size - 1) & ~(page_size - 1);
    uintptr_t b = (uintptr_t)(m->base + off + len) & ~(page_size - 1);
    if (b > a)
        (void)madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
}

/* What is left of the file past `start`, at most `at` bytes. */
static uint64_t left_of(int fd, uint64_t start, uint64_t at)
{
    struct stat fst;
    if (fstat(fd, &fst) == 0 && (uint64_t)fst.st_size < start + at)
        return (uint64_t)fst.st_size > start ? (uint64_t)fst.st_size - start : 0;
    return at;
}

xbcrypt_status xbc_map_lend(const struct xbc_map *m, int fd, uint64_t start, size_t slice,
                            xbc_lend_fn feed, void *obj, xbc_lent_fn lent, void *opaque,
                            uint64_t *done, bool *shrank)
{
    *done = 0;
    *shrank = false;
    for (size_t off = 0; off < m->len; off += slice) {
        const size_t n = m->len - off < slice ? m->len - off : slice;
        xbc_map_willneed(m, off + n, slice);
        if (xbc_map_populate(m, off, n) != 0 || xbc_map_faulted()) {
            *shrank = true;
            *done = left_of(fd, start, off);
            return XBCRYPT_OK;
        }
        xbcrypt_status st = feed(obj, m->base + off, n);
        if (xbc_map_faulted()) {
            *shrank = true;
            *done = left_of(fd, start, off + n);
            return XBCRYPT_OK;
        }
        if (st != XBCRYPT_OK)
            return st;
        *done = off + n;
        if (lent)
            lent(opaque, *done);
        if (off >= slice)
            xbc_map_drop(m, off - slice, slice);
    }
    /* Cut inside its last page, a file reads zeros there without a fault. */
    const uint64_t left = left_of(fd, start, m->len);
    if (left < m->len) {
        *shrank = true;
        *done = left;
    }
    return XBCRYPT_OK;
}

bool xbc_map_faulted(void)
{
    return atomic_load(&faulted);
}

size_t xbc_map_slice(unsigned threads, uint64_t chunk)
{
    /* With a CPU to itself, the reading thread's copy (read()) costs no
     * wall time, and the workers' page faults and copies would: map only
     * when the workers take every CPU. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 0 && threads < (unsigned long)cpus)
        return 0;
    /* The engine's ring (pipeline/xb_stream.c): (2N+1)B+2 jobs, B chunks a
     * batch (at most 16 and 4 MiB, or 1 under 5), plus 1 MiB of look-ahead. */
    const uint64_t mib = 1u << 20;
    if (chunk == 0)
        chunk = 64u << 10;
    if (chunk > 64 * mib)
        chunk = 64 * mib;
    uint64_t b = (4 * mib) / chunk;
    if (b > 16)
        b = 16;
    if (b < 5)
        b = 1;
    uint64_t ring = ((2 * (uint64_t)threads + 1) * b + 2) * chunk + mib;
    uint64_t slice = ring > 8 * mib ? ring : 8 * mib;
    if (slice > 1024 * mib)
        slice = 1024 * mib;
    return (size_t)((slice + mib - 1) / mib * mib);
}
