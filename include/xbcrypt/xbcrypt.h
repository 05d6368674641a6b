/*
 * xbcrypt.h - the public C ABI of the xbcrypt engine.
 *
 * The engine reads and writes the XBCRYPT stream format of Percona
 * XtraBackup (versions 1, 2 and 3 on input, version 3 on output).  It is
 * shipped as a shared object that exports exactly one symbol,
 * xbcrypt_plugin_api(); everything else is reached through the const table
 * that function returns, so a host can dlopen() any later version of the
 * shared object and keep working.
 *
 * ABI rules
 *  - XBCRYPT_ABI_MAJOR changes only when an existing field of a table or
 *    struct changes meaning; xbcrypt_plugin_api() returns NULL for any major
 *    it does not implement.
 *  - Within one major, fields are only ever appended to xbcrypt_api,
 *    xbcrypt_settings, xbcrypt_stats and xbcrypt_chunk_info.  Every such
 *    struct starts with its own size: a host reads a field only if
 *    offsetof(field) + sizeof(field) <= struct_size.  XBCRYPT_API_HAS()
 *    does that check.
 *  - Optional features are looked up by name with api->extension(); an
 *    unknown name gives NULL.
 *
 * Threads
 *  - api->init() must be called once before anything else (it is cheap and
 *    idempotent, and safe to call from several threads).  It initialises
 *    libgcrypt only if the host has not already done so.
 *  - Each encoder, decoder and key is independent: different threads may
 *    use different objects at the same time.  One object must not be used
 *    from two threads at once.  A key may be shared read-only by any number
 *    of encoders and decoders, and must outlive them.
 *  - `threads` threads do each object's crypto: the engine starts that
 *    many workers, or, when `threads` is at least the number of online
 *    CPUs, one fewer and the calling thread does jobs while it waits inside
 *    feed(), commit() or finish().  Callbacks (write, chunk, IV) are only
 *    ever called from the thread that is inside feed(), commit() or finish()
 *    on that object, never from a worker.
 *  - A callback must not call back into the object that called it:
 *    feed(), buffer(), commit() and finish() on that object return
 *    XBCRYPT_E_STATE (without changing its status), and free() on it is
 *    ignored.  status(), message() and stats() may be called, and any call
 *    on another object (a decoder's write callback feeding an encoder).
 *
 * Errors
 *  - Every size in the settings is checked before any arithmetic on it: a
 *    value that is out of range, or that would wrap size_t once the engine
 *    adds its headers and per-job overhead, fails with XBCRYPT_E_ARG.
 *  - Structs the host passes in for the engine to fill (xbcrypt_stats,
 *    xbcrypt_chunk_info) start with struct_size, which the host sets to
 *    sizeof the struct it has: the engine writes min(struct_size, its own
 *    size) bytes and sets struct_size to what it wrote, so an old host is
 *    never overflowed by a newer engine.  struct_size 0 is taken as the
 *    layout of ABI 1.0; 1 to sizeof(size_t) - 1 gets nothing written.
 *  - Every function that can fail returns an xbcrypt_status.  Objects keep
 *    the first error they met: api->encoder_message() / decoder_message()
 *    give a sentence saying what failed and where (chunk index, byte offset
 *    in the encrypted stream).  Once an object has failed, every later call
 *    on it returns the same status.
 *  - The engine never prints, exits, aborts, or touches signal handlers
 *    (one exception, only once the envelope extension is used: GPGME sets
 *    SIGPIPE to SIG_IGN if it was SIG_DFL; see xbcrypt_envelope_v1).
 *
 * Example: encrypt stdin to stdout, then decrypt it again.
 * @code
 *   #include <dlfcn.h>
 *   #include <stdio.h>
 *   #include <string.h>
 *   #include <xbcrypt/xbcrypt.h>
 *
 *   static int put(void *fp, const void *buf, size_t len)
 *   {
 *       return fwrite(buf, 1, len, fp) == len ? 0 : -1;
 *   }
 *
 *   int encrypt_stream(FILE *in, FILE *out, const char *key_path)
 *   {
 *       void *so = dlopen(XBCRYPT_PLUGIN_SONAME, RTLD_NOW | RTLD_LOCAL);
 *       void *sym = so ? dlsym(so, XBCRYPT_PLUGIN_SYMBOL) : NULL;
 *       xbcrypt_api_fn get = NULL;
 *       if (sym)                            // ISO C has no void * to function
 *           memcpy(&get, &sym, sizeof get); // pointer cast: copy the bytes
 *       const xbcrypt_api *api = get ? get(XBCRYPT_ABI_MAJOR) : NULL;
 *       if (!api || !XBCRYPT_API_HAS(api, decoder_free))
 *           return -1;                      // too old, or another major
 *       char msg[256];
 *       xbcrypt_key *key = NULL;
 *       xbcrypt_encoder *enc = NULL;
 *       xbcrypt_settings s;
 *       api->init();
 *       api->settings_default(&s);
 *       s.algo = XBCRYPT_ALGO_AES256;
 *       s.threads = 4;
 *       if (api->key_from_file(key_path, &key, msg, sizeof msg) != XBCRYPT_OK) {
 *           fprintf(stderr, "%s\n", msg);
 *           return -1;
 *       }
 *       s.key = key;
 *       xbcrypt_status st = api->encoder_new(&s, put, out, &enc, msg, sizeof msg);
 *       char buf[1 << 16];
 *       size_t n;
 *       while (st == XBCRYPT_OK && (n = fread(buf, 1, sizeof buf, in)) > 0)
 *           st = api->encoder_feed(enc, buf, n);
 *       if (st == XBCRYPT_OK)
 *           st = api->encoder_finish(enc);  // flushes the last chunk
 *       xbcrypt_stats stats = {.struct_size = sizeof stats}; // always set it
 *       if (st == XBCRYPT_OK) {
 *           api->encoder_stats(enc, &stats);
 *           fprintf(stderr, "%llu chunks\n", (unsigned long long)stats.chunks);
 *       }
 *       if (st != XBCRYPT_OK)
 *           fprintf(stderr, "%s\n", enc ? api->encoder_message(enc) : msg);
 *       api->encoder_free(enc);
 *       api->key_free(key);                 // wipes the key bytes
 *       return st == XBCRYPT_OK ? 0 : -1;
 *       // Decrypting is the same loop with decoder_new / decoder_feed /
 *       // decoder_finish: finish() reports a stream cut inside a chunk.
 *   }
 * @endcode
 */
#ifndef XBCRYPT_XBCRYPT_H
#define XBCRYPT_XBCRYPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header and of the engine; meson reads these lines. */
#define XBCRYPT_VERSION_MAJOR 1
#define XBCRYPT_VERSION_MINOR 1
#define XBCRYPT_VERSION_PATCH 0
/* The ABI generation a host asks xbcrypt_plugin_api() for. */
#define XBCRYPT_ABI_MAJOR 1

/* Packed version number, as returned by api->version_number(). */
#define XBCRYPT_VERSION_NUMBER(major, minor, patch) \
    (((unsigned)(major) << 16) | ((unsigned)(minor) << 8) | (unsigned)(patch))

/* File name and entry point of the shared object. */
#define XBCRYPT_PLUGIN_SONAME "xbcrypt-plugin.so"
#define XBCRYPT_PLUGIN_SYMBOL "xbcrypt_plugin_api"

#if defined(_WIN32)
#define XBCRYPT_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define XBCRYPT_EXPORT __attribute__((visibility("default")))
#else
#define XBCRYPT_EXPORT
#endif

/*
 * Status codes.  The numbers are pinned: they never change meaning and new
 * ones are only added at the end.  api->status_name() gives a short
 * lower-case description of each.
 */
typedef enum xbcrypt_status {
    XBCRYPT_OK = 0,
    XBCRYPT_E_ARG = 1,         /* invalid argument or API misuse */
    XBCRYPT_E_NOMEM = 2,       /* out of memory */
    XBCRYPT_E_KEY = 3,         /* key missing, unreadable, or of a length AES cannot use */
    XBCRYPT_E_CRYPTO = 4,      /* libgcrypt failed */
    XBCRYPT_E_WRITE = 5,       /* the write callback reported failure */
    XBCRYPT_E_MAGIC = 6,       /* not an XBCRYPT chunk: bad magic */
    XBCRYPT_E_LIMIT = 7,       /* a size field is over the format's limit or inconsistent */
    XBCRYPT_E_CRC = 8,         /* CRC-32 of the stored payload does not match */
    XBCRYPT_E_HASH = 9,        /* SHA-256 of a decrypted chunk does not match */
    XBCRYPT_E_WRONG_KEY = 10,  /* the first hashed chunk fails: the key is wrong */
    XBCRYPT_E_TRUNCATED = 11,  /* the stream ends inside a chunk */
    XBCRYPT_E_STATE = 12,      /* call out of order (after finish, or from the object's own callback) */
    XBCRYPT_E_THREAD = 13,     /* a worker thread could not be started */
    XBCRYPT_E_IO = 14,         /* reading a key file failed */
    XBCRYPT_E_UNSUPPORTED = 15, /* feature not built into this engine */
    /* XBSTREAM archives (the archive functions below): */
    XBCRYPT_E_ARCHIVE = 16,    /* malformed archive: unknown chunk type, out-of-order chunk,
                                  chunk after a member's end, bad sparse map */
    XBCRYPT_E_UNSAFE_PATH = 17, /* a member path that is empty, absolute, has a ".."
                                   component or a NUL byte, or is 512 bytes or longer */
    XBCRYPT_E_UNCLOSED = 18,   /* members never closed by their end-of-file chunk: the
                                  archive was cut short */
    XBCRYPT_E_EMPTY = 19,      /* an archive with no chunk at all */
    XBCRYPT_E_ENCRYPTED = 20   /* encrypting an archive: a member is already *.xbcrypt
                                  (re-encrypt it under a new key instead) */
} xbcrypt_status;

/* Cipher selection.  As in libgcrypt (and so Percona's tools), the AES key
 * size actually used is the key's length: 16, 24 or 32 bytes give AES-128,
 * AES-192 or AES-256 whichever AES name is chosen. */
typedef enum xbcrypt_algo {
    XBCRYPT_ALGO_NONE = 0, /* no cipher: chunks carry plaintext and its SHA-256 */
    XBCRYPT_ALGO_AES128 = 1,
    XBCRYPT_ALGO_AES192 = 2,
    XBCRYPT_ALGO_AES256 = 3
} xbcrypt_algo;

/* Format limits. */
#define XBCRYPT_CHUNK_SIZE_DEFAULT 65536u
#define XBCRYPT_CHUNK_SIZE_MIN 1024u
/* Largest plaintext per chunk: original size (plaintext + 32-byte hash)
 * must stay within INT_MAX. */
#define XBCRYPT_CHUNK_SIZE_MAX (2147483647u - 32u)
#define XBCRYPT_READ_BUFFER_DEFAULT 10485760u
#define XBCRYPT_IV_SIZE 16u
#define XBCRYPT_KEY_SIZE_MAX 32u

typedef struct xbcrypt_key xbcrypt_key;         /* key bytes, in secure memory */
typedef struct xbcrypt_encoder xbcrypt_encoder; /* plaintext in, XBCRYPT stream out */
typedef struct xbcrypt_decoder xbcrypt_decoder; /* XBCRYPT stream in, plaintext out */

/*
 * Output callback.  Must consume all `len` bytes and return 0, or return
 * non-zero to stop the stream (the object then fails with XBCRYPT_E_WRITE;
 * keep errno or your own error in `opaque` if the host needs it).  `buf` is
 * only valid during the call.
 */
typedef int (*xbcrypt_write_fn)(void *opaque, const void *buf, size_t len);

/*
 * IV source, for tests only: fills the 16-byte IV of chunk `chunk_index`
 * (0, 1, 2, ... in stream order) and returns 0, or non-zero to fail the
 * stream.  When NULL (the default) each IV is a fresh nonce from libgcrypt.
 * Output made with a fixed IV source is not secure.
 */
typedef int (*xbcrypt_iv_fn)(void *opaque, uint64_t chunk_index, uint8_t iv[16]);

/* What one chunk looked like; given to the chunk callback. */
typedef struct xbcrypt_chunk_info {
    size_t struct_size;       /* chunk callback: sizeof(xbcrypt_chunk_info) of the engine;
                                 decoder_fault: set by the host (see "Errors") */
    uint64_t index;           /* chunk number, from 0 */
    uint64_t offset;          /* byte offset of the chunk's magic in the encrypted stream */
    unsigned version;         /* format version: 1, 2 or 3 */
    uint64_t original_size;   /* the header's olen field */
    uint64_t encrypted_size;  /* the header's elen field (payload bytes) */
    uint64_t iv_size;         /* the header's IV size (0 for version 1) */
    uint8_t iv[16];           /* the first min(iv_size, 16) IV bytes, zero-padded */
    uint64_t plaintext_size;  /* plaintext bytes this chunk carries */
    uint32_t crc;             /* the stored (and verified) CRC-32 */
    int hash_checked;         /* 1 if a SHA-256 was verified for this chunk */
} xbcrypt_chunk_info;

/*
 * Chunk callback: called once per chunk, in stream order, after the chunk
 * has been verified and (for a decoder) just before its plaintext is
 * written.  Encoders call it after a chunk is written.
 */
typedef void (*xbcrypt_chunk_fn)(void *opaque, const xbcrypt_chunk_info *info);

/*
 * Settings for an encoder or a decoder.  Always fill with
 * api->settings_default() first, then change what you need; the engine
 * copies what it needs at creation, except `key` (borrowed, must outlive the
 * object) and the callbacks' opaque pointers.
 */
typedef struct xbcrypt_settings {
    size_t struct_size;        /* set by settings_default(); do not change */
    xbcrypt_algo algo;         /* default XBCRYPT_ALGO_AES256 */
    const xbcrypt_key *key;    /* required unless algo is NONE (decoder: see decoder_new) */
    size_t chunk_size;         /* encoder: plaintext bytes per chunk; default 65536,
                                  1024 .. XBCRYPT_CHUNK_SIZE_MAX.  decoder: only sizes
                                  the first job buffers; at most XBCRYPT_CHUNK_SIZE_MAX */
    size_t read_buffer_size;   /* encoder: chunking restarts every this many input
                                  bytes, as Percona's reads do; default 10 MiB;
                                  0 means never restart; any value is valid */
    unsigned threads;          /* threads doing the crypto (see "Threads" above);
                                  default 1, at most 256 (more: XBCRYPT_E_ARG); 0 = do
                                  all work in the calling thread, no thread started */
    xbcrypt_iv_fn iv_source;   /* tests only; default NULL = random IVs */
    void *iv_opaque;
    xbcrypt_chunk_fn on_chunk; /* optional; default NULL */
    void *chunk_opaque;
} xbcrypt_settings;

/* Totals of a stream so far. */
typedef struct xbcrypt_stats {
    size_t struct_size;        /* the host sets sizeof(xbcrypt_stats) before calling
                                  stats(); the engine sets what it wrote (see "Errors") */
    uint64_t chunks;           /* chunks verified and released (decoder) or written (encoder) */
    uint64_t bytes_in;         /* bytes fed in */
    uint64_t plaintext_bytes;  /* plaintext released (decoder) or consumed (encoder) */
    uint64_t encrypted_bytes;  /* stream bytes written (encoder) or verified (decoder) */
    unsigned versions_seen;    /* bit v set when a version-v chunk was verified */
    uint64_t hashed_chunks;    /* chunks whose SHA-256 was checked */
    uint64_t size_mismatches;  /* chunks whose olen disagrees with their payload */
    /*
     * Appended after size_mismatches (read them only when struct_size covers them): a
     * version-1 or -2 chunk verified after a version-3 one is a downgrade
     * that no writer produces (writers only ever moved from 1 to 2 to 3);
     * legacy chunks carry only a CRC, which anyone can forge, so a decoder
     * counts them here, and still releases them.  Decoder only.
     */
    uint64_t downgrades;             /* legacy chunks after a version-3 chunk */
    uint64_t first_downgrade_index;  /* index of the first of them (when downgrades > 0) */
    uint64_t first_downgrade_offset; /* byte offset of its header in the stream */
} xbcrypt_stats;

/*
 * What an archive check or a member-level transform saw of an XBSTREAM
 * archive (see "XBSTREAM archives" after the function table).  Set
 * struct_size before the call; the engine fills at most that many bytes.
 */
typedef struct xbcrypt_archive_summary {
    size_t struct_size;        /* sizeof(xbcrypt_archive_summary) of the caller */
    uint64_t bytes;            /* archive bytes taken */
    uint64_t chunks;           /* archive chunks complete */
    uint64_t members;          /* distinct member paths */
    uint64_t members_open;     /* members without their end-of-file chunk (so far) */
    uint64_t encrypted;        /* members named *.xbcrypt */
    uint64_t verified;         /* transform: encrypted members whose XBCRYPT stream
                                  verified, SHA-256 included; 0 for a check */
    uint64_t ignored_chunks;   /* ignorable chunks of unknown type, skipped */
    uint64_t sparse_chunks;    /* sparse ('S') chunks */
    int checkpoints;           /* 1 when a member xtrabackup_checkpoints (possibly
                                  .xbcrypt, .qp, .zst, .lz4) was seen to its end */
    char backup_type[32];      /* its backup_type ("full-backuped", ...) when its text
                                  could be read, else "" */
    int in_chunk;              /* 1 when the data so far ends inside a chunk */
} xbcrypt_archive_summary;

/* What a member-level archive transform does to each member. */
typedef enum xbcrypt_archive_mode {
    XBCRYPT_ARCHIVE_ENCRYPT = 1, /* NAME -> NAME.xbcrypt (version 3, fresh IVs) */
    XBCRYPT_ARCHIVE_DECRYPT = 2, /* NAME.xbcrypt -> NAME; other members unchanged */
    XBCRYPT_ARCHIVE_VERIFY = 3,  /* check everything, write nothing */
    XBCRYPT_ARCHIVE_REKEY = 4,   /* NAME.xbcrypt re-encrypted under new_key */
    XBCRYPT_ARCHIVE_INFO = 5     /* structure and CRCs only, a record per member */
} xbcrypt_archive_mode;

/* One member, as the member callback sees it. */
typedef struct xbcrypt_member_info {
    size_t struct_size;        /* sizeof(xbcrypt_member_info) of the engine */
    const char *path;          /* NUL-terminated; valid during the callback only */
    uint64_t bytes;            /* the member's bytes in the input archive (holes included) */
    uint64_t chunks;           /* its payload chunks ('P', 'S') in the input archive */
    int encrypted;             /* 1 when its name ends in ".xbcrypt" */
    int closed;                /* 1 when its end-of-file chunk came */
    int verified;              /* 1 when every XBCRYPT chunk of it passed CRC and SHA-256 */
    uint64_t xbcrypt_chunks;   /* XBCRYPT chunks of it that were opened or sealed */
    uint64_t plaintext_bytes;  /* plaintext bytes of it that were decrypted or encrypted */
} xbcrypt_member_info;

/* Member callback: once per member, when its last chunk has been written
 * (or, for VERIFY and INFO, checked), in the order members close; members
 * never closed are reported by finish(), with closed = 0. */
typedef void (*xbcrypt_member_fn)(void *opaque, const xbcrypt_member_info *info);

/*
 * Settings of a member-level transform.  Fill with
 * api->archive_settings_default() first.  Keys are borrowed and must
 * outlive the object.
 */
typedef struct xbcrypt_archive_settings {
    size_t struct_size;        /* set by archive_settings_default(); do not change */
    xbcrypt_archive_mode mode; /* default XBCRYPT_ARCHIVE_VERIFY */
    xbcrypt_algo algo;         /* default AES256; the key's length picks the AES */
    const xbcrypt_key *key;    /* ENCRYPT: the key; DECRYPT, REKEY: the members' key;
                                  VERIFY: the members' key, or NULL to check structure and
                                  CRCs only; INFO: unused */
    const xbcrypt_key *new_key; /* REKEY: the key members are re-encrypted under */
    size_t chunk_size;         /* ENCRYPT: plaintext bytes per XBCRYPT chunk (-s);
                                  default 65536, 1024 .. XBCRYPT_CHUNK_SIZE_MAX */
    unsigned threads;          /* threads shared by all members, as xbcrypt_settings */
    xbcrypt_member_fn on_member; /* optional */
    void *member_opaque;
    xbcrypt_iv_fn iv_source;   /* tests only: IVs by XBCRYPT chunk index within a member */
    void *iv_opaque;
} xbcrypt_archive_settings;

typedef struct xbcrypt_archive xbcrypt_archive; /* an archive in, an archive out */
typedef struct xbcrypt_archive_check xbcrypt_archive_check; /* an archive followed, nothing out */

/* The 8 bytes every XBSTREAM chunk, and so every archive, starts with. */
#define XBCRYPT_ARCHIVE_MAGIC "XBSTCK01"
/* archive_check_new() flag: follow the structure, do not compute CRCs. */
#define XBCRYPT_ARCHIVE_CHECK_NO_CRC 1u

/*
 * The function table.  Every pointer is non-NULL in a table the engine
 * returns.  Functions with an `msg` buffer write a NUL-terminated
 * explanation there on failure (when msg is non-NULL and msg_size > 0); it
 * never contains key bytes.
 */
typedef struct xbcrypt_api {
    unsigned abi_major;        /* XBCRYPT_ABI_MAJOR of the engine */
    size_t struct_size;        /* sizeof(xbcrypt_api) of the engine: check before reading */

    /* Engine version as XBCRYPT_VERSION_NUMBER(), and as "1.1.0". */
    unsigned (*version_number)(void);
    const char *(*version_string)(void);

    /* Initialise the engine (and libgcrypt, unless the host did) / release
     * what init took.  cleanup() only when no object is left.
     * Secure memory: keys and AES key schedules live in a 1 MiB pool of
     * libgcrypt's locked memory when RLIMIT_MEMLOCK (or CAP_IPC_LOCK)
     * allows it.  Under a smaller limit (64 KiB before Linux 5.16) the pool
     * is cut to what the limit leaves and stays locked: it holds a key and
     * the handles of a few dozen threads, and encoder_new()/decoder_new()
     * beyond that fail with XBCRYPT_E_CRYPTO and a message naming the
     * limit.  Under 16 KiB nothing can be locked: init() still succeeds and
     * keys are held in unlocked memory (xbcrypt warns once).  Modes with
     * no key (algo NONE) need no locked memory at all. */
    xbcrypt_status (*init)(void);
    void (*cleanup)(void);

    /* Static description of a status, e.g. "CRC mismatch"; never NULL. */
    const char *(*status_name)(xbcrypt_status status);

    /* Fill *s with the defaults; s must not be NULL. */
    void (*settings_default)(xbcrypt_settings *s);

    /*
     * Keys.  The bytes are copied into libgcrypt secure memory (locked when
     * the system allows) and wiped by key_free().  from_file reads the whole
     * file (or FIFO, or /dev/fd/N) as the key; from_fd reads fd to its end
     * and does not close it.  A key longer than 4096 bytes or empty is
     * refused.  *out is set to NULL on failure.  key_free(NULL) is a no-op.
     */
    xbcrypt_status (*key_from_file)(const char *path, xbcrypt_key **out, char *msg, size_t msg_size);
    xbcrypt_status (*key_from_fd)(int fd, xbcrypt_key **out, char *msg, size_t msg_size);
    xbcrypt_status (*key_from_bytes)(const void *bytes, size_t len, xbcrypt_key **out, char *msg,
                                     size_t msg_size);
    size_t (*key_size)(const xbcrypt_key *key);
    void (*key_free)(xbcrypt_key *key);

    /*
     * Encoder: plaintext in any split through encoder_feed(), version-3
     * chunks out through `write` (non-NULL).  The key length must be 16, 24
     * or 32 unless algo is NONE.  *out is NULL on failure.
     */
    xbcrypt_status (*encoder_new)(const xbcrypt_settings *s, xbcrypt_write_fn write, void *opaque,
                                  xbcrypt_encoder **out, char *msg, size_t msg_size);
    xbcrypt_status (*encoder_feed)(xbcrypt_encoder *enc, const void *buf, size_t len);
    /* Emits the last, short chunk and waits for every chunk to be written.
     * After it only stats, message and free may be called. */
    xbcrypt_status (*encoder_finish)(xbcrypt_encoder *enc);
    /* Stops the workers and frees; NULL is a no-op.  Without a finish()
     * the stream is left incomplete. */
    void (*encoder_free)(xbcrypt_encoder *enc);
    xbcrypt_status (*encoder_status)(const xbcrypt_encoder *enc);
    const char *(*encoder_message)(const xbcrypt_encoder *enc); /* "" while OK */
    /* Totals so far into *stats: set stats->struct_size first (see
     * "Errors"); NULL enc or stats: nothing happens. */
    void (*encoder_stats)(const xbcrypt_encoder *enc, xbcrypt_stats *stats);

    /*
     * Decoder: an XBCRYPT stream in any split through decoder_feed(),
     * verified plaintext out through `write`.  No byte of a chunk is written
     * before its CRC and (version 3) SHA-256 pass.  With write == NULL the
     * decoder only verifies; it may then also have no key, and then checks
     * structure and CRCs only (stats.hashed_chunks tells what was checked).
     */
    xbcrypt_status (*decoder_new)(const xbcrypt_settings *s, xbcrypt_write_fn write, void *opaque,
                                  xbcrypt_decoder **out, char *msg, size_t msg_size);
    xbcrypt_status (*decoder_feed)(xbcrypt_decoder *dec, const void *buf, size_t len);
    /* Waits for every chunk; XBCRYPT_E_TRUNCATED if the stream ended inside
     * a chunk. */
    xbcrypt_status (*decoder_finish)(xbcrypt_decoder *dec);
    void (*decoder_free)(xbcrypt_decoder *dec);
    xbcrypt_status (*decoder_status)(const xbcrypt_decoder *dec);
    const char *(*decoder_message)(const xbcrypt_decoder *dec);
    /* As encoder_stats: set stats->struct_size first. */
    void (*decoder_stats)(const xbcrypt_decoder *dec, xbcrypt_stats *stats);

    /* Optional features by name; NULL when absent, unknown, or name is
     * NULL.  XBCRYPT_ENVELOPE_V1 gives a static const xbcrypt_envelope_v1 *
     * (declared below).  The pointer stays valid while the module is
     * loaded; never free it. */
    const void *(*extension)(const char *name);

    /* ---- Appended after `extension`: check XBCRYPT_API_HAS first. ---- */

    /* The non-zero value the write callback returned when it failed the
     * stream (XBCRYPT_E_WRITE), e.g. an errno value; 0 if it never did. */
    int (*encoder_write_error)(const xbcrypt_encoder *enc);
    int (*decoder_write_error)(const xbcrypt_decoder *dec);

    /*
     * Zero-copy input: buffer() gives space inside the engine's next job
     * where the host may put up to *avail bytes (never 0 while the object
     * is OK), e.g. by read(2) straight into it; commit(n) then takes
     * n <= *avail of them, exactly as feed() would.  feed() is buffer() +
     * memcpy + commit().  The pointer is valid until the next call on the
     * object.  Committing more than was offered fails with XBCRYPT_E_ARG.
     */
    xbcrypt_status (*encoder_buffer)(xbcrypt_encoder *enc, void **buf, size_t *avail);
    xbcrypt_status (*encoder_commit)(xbcrypt_encoder *enc, size_t n);
    xbcrypt_status (*decoder_buffer)(xbcrypt_decoder *dec, void **buf, size_t *avail);
    xbcrypt_status (*decoder_commit)(xbcrypt_decoder *dec, size_t n);

    /*
     * After a decoder failed on a chunk (a bad header, a size over the
     * limit, CRC, hash, truncation): fills *info with that chunk's index,
     * byte offset and the header fields as far as they were read, and
     * returns 1; returns 0 (info untouched) when the decoder has not failed
     * on a chunk.  Set info->struct_size to sizeof(xbcrypt_chunk_info)
     * first: at most that many bytes are written (see "Errors").
     */
    int (*decoder_fault)(const xbcrypt_decoder *dec, xbcrypt_chunk_info *info);

    /* ---- Appended in 1.1: XBSTREAM archives (see "XBSTREAM archives" below).
     * Check XBCRYPT_API_HAS(api, archive_check_free) first. ---- */

    /* Fill *s with the defaults (mode VERIFY, AES256, 64 KiB chunks, 1
     * thread); s must not be NULL. */
    void (*archive_settings_default)(xbcrypt_archive_settings *s);
    /*
     * A member-level transform: an archive in any split through
     * archive_feed(), an archive out through `write` (required for ENCRYPT,
     * DECRYPT and REKEY; never called for VERIFY and INFO, may be NULL).
     * *out is NULL on failure (XBCRYPT_E_ARG, E_KEY, E_NOMEM, E_THREAD).
     */
    xbcrypt_status (*archive_new)(const xbcrypt_archive_settings *s, xbcrypt_write_fn write,
                                  void *opaque, xbcrypt_archive **out, char *msg,
                                  size_t msg_size);
    xbcrypt_status (*archive_feed)(xbcrypt_archive *a, const void *buf, size_t len);
    /* Waits for every job; then fails with E_TRUNCATED, E_EMPTY or
     * E_UNCLOSED when the archive ended inside a chunk, held nothing, or
     * left members without their EOF chunk. */
    xbcrypt_status (*archive_finish)(xbcrypt_archive *a);
    void (*archive_free)(xbcrypt_archive *a);
    xbcrypt_status (*archive_status)(const xbcrypt_archive *a);
    const char *(*archive_message)(const xbcrypt_archive *a); /* "" while OK */
    /* Set out->struct_size first; valid at any time (so far). */
    void (*archive_summary)(const xbcrypt_archive *a, xbcrypt_archive_summary *out);
    /* bytes_in: archive bytes fed; encrypted_bytes: archive bytes written;
     * chunks, plaintext_bytes, hashed_chunks: the members' XBCRYPT chunks. */
    void (*archive_stats)(const xbcrypt_archive *a, xbcrypt_stats *stats);
    int (*archive_write_error)(const xbcrypt_archive *a);

    /*
     * An archive check: the structure (and, unless
     * XBCRYPT_ARCHIVE_CHECK_NO_CRC, every CRC) of an archive fed in any
     * split, nothing written, no thread started, no payload byte kept.
     * Feed it the plaintext of a whole-stream-encrypted backup as the
     * decoder releases it to know whether the archive inside is whole.
     */
    xbcrypt_status (*archive_check_new)(unsigned flags, xbcrypt_archive_check **out, char *msg,
                                        size_t msg_size);
    xbcrypt_status (*archive_check_feed)(xbcrypt_archive_check *c, const void *buf, size_t len);
    xbcrypt_status (*archive_check_finish)(xbcrypt_archive_check *c);
    xbcrypt_status (*archive_check_status)(const xbcrypt_archive_check *c);
    const char *(*archive_check_message)(const xbcrypt_archive_check *c);
    void (*archive_check_summary)(const xbcrypt_archive_check *c, xbcrypt_archive_summary *out);
    void (*archive_check_free)(xbcrypt_archive_check *c);
} xbcrypt_api;

/* True when the engine's table is long enough to hold `field`. */
#define XBCRYPT_API_HAS(api, field) \
    ((api)->struct_size >= offsetof(xbcrypt_api, field) + sizeof((api)->field))

/*
 * XBSTREAM archives (api->archive_*, since 1.1)
 *
 * A backup streamed with `xtrabackup --stream=xbstream` or `mariabackup
 * --stream=xbstream` is an archive of members (files) whose chunks may
 * interleave.  The member-level transform works member by member in one
 * pass:
 *   ENCRYPT  NAME -> NAME.xbcrypt, a version-3 XBCRYPT stream (fresh IVs,
 *            chunk_size chunks) of the member's bytes, what `xtrabackup
 *            --encrypt --stream=xbstream` writes; holes of sparse chunks
 *            become zeros; a member already named *.xbcrypt fails the
 *            archive with XBCRYPT_E_ENCRYPTED (use REKEY).
 *   DECRYPT  NAME.xbcrypt -> NAME; no plaintext byte of an XBCRYPT chunk
 *            leaves before its CRC and SHA-256 passed; other members are
 *            copied byte for byte.  NAME and NAME.xbcrypt in one archive
 *            fail with XBCRYPT_E_ARCHIVE.
 *   VERIFY   every archive CRC, every member closed, safe paths, every
 *            *.xbcrypt member opened under `key` (or, with no key, its
 *            XBCRYPT structure and CRCs only); nothing written.
 *   REKEY    every *.xbcrypt member opened under `key` and sealed under
 *            `new_key`, chunk for chunk, in the same pass.
 *   INFO     structure and archive CRCs only; on_member gives each member.
 * Output payload chunks are at most 10 MiB, offsets contiguous, each
 * member's EOF chunk after its last payload; members come out in the order
 * their data completes, each member's chunks in order.  A failure names
 * the member (and the XBCRYPT chunk, the archive chunk and offsets); the
 * archive written is then unfinished.  What was written before it is whole
 * archive chunks, except for members passed through unchanged (DECRYPT and
 * REKEY: those not named *.xbcrypt), whose chunks are copied as they
 * arrive, in pieces of one buffer: the output may then end inside such a
 * chunk, as the input did.  Paths that are empty, absolute, have a ".."
 * component or a NUL byte, or are 512 bytes or longer fail with
 * XBCRYPT_E_UNSAFE_PATH.
 *
 * Threads: `threads` workers are shared by all members (as for an
 * encoder); callbacks run on the thread inside feed() or finish().
 *
 * Memory, whatever the archive's size: with N threads and chunk size C,
 *   ((2N+1)B+2 + 1 MiB / (C + 772) + open members + 17) buffers of C + 672
 *   bytes (pass-through bytes travel in buffers of that size too), plus a
 *   header and a record of about 100 bytes and its path per member seen.
 *   B is the number of chunks a worker takes at once: min(16, 4 MiB /
 *   (C + 772)) where the engine hashes chunks in lanes (libipsec-mb on an
 *   AVX-512 CPU), 1 where it does not or when that is under 5.
 * With 16 members open, N = 4 and 64 KiB chunks that is under 3.5 MiB with
 * B = 1 and under 13 MiB with B = 16 (the unit tests measure it).  Decrypting, C is the size of the members'
 * XBCRYPT chunks, as stored.  An open member's buffer holds room for the
 * bytes it was given (at least 4 KiB, then at most doubling), never what a
 * header announces; more than 4096 members open at once fail the archive
 * with XBCRYPT_E_LIMIT (the archive check has no such limit).
 * Encrypting, the holes of sparse chunks are written out as zeros: a few
 * bytes of sparse map can stand for many gigabytes of output (in memory
 * bounded as above).
 *
 * Example: decrypt a member-encrypted backup (tests/abi compiles it).
 * @code
 *   #include <stdio.h>
 *   #include <xbcrypt/xbcrypt.h>
 *
 *   static int put_archive(void *fp, const void *buf, size_t len)
 *   {
 *       return fwrite(buf, 1, len, fp) == len ? 0 : -1;
 *   }
 *
 *   // api as in the first example; key from api->key_from_file().
 *   int decrypt_backup(const xbcrypt_api *api, const xbcrypt_key *key, FILE *in, FILE *out)
 *   {
 *       if (!XBCRYPT_API_HAS(api, archive_check_free))
 *           return -1;                      // an engine older than 1.1
 *       char msg[256];
 *       xbcrypt_archive_settings as;
 *       xbcrypt_archive *a = NULL;
 *       api->archive_settings_default(&as);
 *       as.mode = XBCRYPT_ARCHIVE_DECRYPT;
 *       as.key = key;
 *       as.threads = 4;
 *       xbcrypt_status st = api->archive_new(&as, put_archive, out, &a, msg, sizeof msg);
 *       char buf[1 << 16];
 *       size_t n;
 *       while (st == XBCRYPT_OK && (n = fread(buf, 1, sizeof buf, in)) > 0)
 *           st = api->archive_feed(a, buf, n);
 *       if (st == XBCRYPT_OK)
 *           st = api->archive_finish(a);    // a member never closed fails here
 *       xbcrypt_archive_summary sum = {.struct_size = sizeof sum};
 *       if (a)
 *           api->archive_summary(a, &sum);  // members, encrypted, verified, ...
 *       if (st != XBCRYPT_OK)
 *           fprintf(stderr, "%s\n", a ? api->archive_message(a) : msg);
 *       else
 *           fprintf(stderr, "%llu members, %llu decrypted\n",
 *                   (unsigned long long)sum.members, (unsigned long long)sum.verified);
 *       api->archive_free(a);
 *       return st == XBCRYPT_OK ? 0 : -1;
 *   }
 * @endcode
 * The inner check of a whole-stream backup: in the decoder's write
 * callback, pass the plaintext to api->archive_check_feed() when it starts
 * with XBCRYPT_ARCHIVE_MAGIC; after decoder_finish(), archive_check_finish()
 * says XBCRYPT_E_UNCLOSED or E_TRUNCATED for a backup cut short, even at an
 * XBCRYPT chunk boundary.
 */

/*
 * Extension "xbcrypt.envelope.v1": the public-key envelope.
 *
 * The backup host encrypts with public keys only; the private key that can
 * restore stays on an offline machine or an OpenPGP smartcard.  The XBCRYPT
 * format is unchanged: each stream gets a fresh random 32-byte data key (the
 * AES-256 key of an ordinary version-3 stream), and only that data key is
 * encrypted to the recipients' OpenPGP keys, through GPGME and the gpg and
 * gpg-agent of the host's user (GNUPGHOME applies).  The wrapped key is an
 * ASCII-armoured OpenPGP message ("-----BEGIN PGP MESSAGE-----"), so stock
 * tools recover the data key without this engine:
 *   gpg --decrypt WRAPPED > KEYFILE   then any xbcrypt -d -f KEYFILE
 *
 *   const xbcrypt_envelope_v1 *env = api->extension(XBCRYPT_ENVELOPE_V1);
 *   if (!env || !XBCRYPT_ENVELOPE_HAS(env, wrapped_free))
 *       ...;                              // engine built without it, or older
 *   const char *to[] = {"0123...CDEF"};   // full fingerprints
 *   void *w; size_t wlen; xbcrypt_key *key;
 *   if (env->wrap(to, 1, &w, &wlen, &key, msg, sizeof msg) == XBCRYPT_OK) {
 *       store(w, wlen);                   // beside the backup
 *       env->wrapped_free(w);
 *       s.key = key;                      // then encoder_new(&s, ...) as usual
 *       ...
 *       api->key_free(key);               // wipes the data key
 *   }
 *   // restore: env->unwrap(w, wlen, &key, msg, sizeof msg), then decoder_new
 *
 * Recipients are full fingerprints only (40 or 64 hex digits, optional
 * "0x"): a key ID, an address or a name is refused with XBCRYPT_E_ARG.
 * Because a full fingerprint names exactly one key, the encryption uses
 * GPGME_ENCRYPT_ALWAYS_TRUST: the keyring needs no ownertrust or
 * signatures for it.  gpg.conf "encrypt-to" keys are not added.  Every
 * recipient is checked before anything else happens: a key missing from
 * the keyring, revoked, expired, disabled, invalid or without a usable
 * encryption subkey fails the call with XBCRYPT_E_KEY and a message naming
 * its fingerprint.  At most 64 recipients.  The data key goes to exactly
 * one encryption subkey per recipient: the subkey named, when the
 * fingerprint is a subkey's (XBCRYPT_E_KEY when that subkey has expired or
 * is revoked: no other is used instead), else the key's newest usable
 * encryption subkey.  gpg.conf cannot redirect it: a "group" named after
 * a fingerprint is not expanded, and the key IDs of the wrapped key are
 * read back and must be exactly those subkeys (XBCRYPT_E_KEY otherwise,
 * and when gpg hid them: "throw-keyids").
 *
 * The data key lives in libgcrypt secure memory only: generated there
 * (GCRY_VERY_STRONG_RANDOM), and on unwrap written there by GPGME through a
 * callback, never into an ordinary heap buffer of the engine; GPGME's own
 * I/O buffers are marked sensitive and wiped.  No message contains it.
 *
 * Authenticity: anyone holding the public keys can make a wrapped key and a
 * stream that unwrap and decrypt cleanly; the envelope keeps the data
 * secret, it does not prove who made the backup.  Keep the wrapped key and
 * the stream where only the backup host can write.
 *
 * Threads and processes: call api->init() first.  GPGME is initialised once
 * per process on the first call here (that is when it sets SIGPIPE to
 * SIG_IGN if it was SIG_DFL, so that a gpg that dies cannot kill the host);
 * each call has its own GPGME context, so threads may call at once.  Each
 * call runs gpg as a child process and waits for it; a smartcard or a
 * passphrase may make gpg-agent show a pinentry and block until answered.
 *
 * Every function resets its output parameters on entry, returns an
 * xbcrypt_status and on failure writes a sentence to msg (when msg is
 * non-NULL and msg_size > 0):
 *   XBCRYPT_E_ARG          a NULL pointer, no recipient, too many, or one that
 *                          is not a full fingerprint
 *   XBCRYPT_E_KEY          a recipient key missing or unusable; the wrapped
 *                          key cannot be decrypted here (no secret key for any
 *                          recipient, damaged, not an encrypted OpenPGP
 *                          message) or does not hold a 32-byte key
 *   XBCRYPT_E_CRYPTO       gpg or GPGME failed otherwise
 *   XBCRYPT_E_NOMEM        out of memory or secure memory
 *   XBCRYPT_E_UNSUPPORTED  GPGME finds no usable gpg
 */
#define XBCRYPT_ENVELOPE_V1 "xbcrypt.envelope.v1"
/* Size of the data key the envelope makes and accepts. */
#define XBCRYPT_ENVELOPE_KEY_SIZE 32u

typedef struct xbcrypt_envelope_v1 {
    size_t struct_size; /* sizeof(xbcrypt_envelope_v1) of the engine: check before reading */

    /*
     * Only checks recipients[0 .. n_recipients-1], as wrap() would, without
     * making a key: to fail before a backup starts.
     */
    xbcrypt_status (*check_recipients)(const char *const *recipients, size_t n_recipients,
                                       char *msg, size_t msg_size);

    /*
     * Makes a fresh 32-byte data key and encrypts it to every recipient.  On
     * success *key is the data key, to put in xbcrypt_settings.key (free it
     * with api->key_free), and *wrapped / *wrapped_len the OpenPGP message
     * to store (free it with wrapped_free).  On failure *wrapped is NULL,
     * *wrapped_len 0 and *key NULL.
     */
    xbcrypt_status (*wrap)(const char *const *recipients, size_t n_recipients, void **wrapped,
                           size_t *wrapped_len, xbcrypt_key **key, char *msg, size_t msg_size);

    /*
     * Decrypts a wrapped key (at most 1 MiB) with a secret key gpg-agent can
     * use; the result must be 32 bytes.  *key (free with api->key_free) is
     * NULL on failure.  `wrapped` is only read, and may be freed on return.
     */
    xbcrypt_status (*unwrap)(const void *wrapped, size_t wrapped_len, xbcrypt_key **key,
                             char *msg, size_t msg_size);

    /*
     * Unwraps, then wraps the same data key to new recipients (all checked
     * before the secret key is used): the stream needs no re-encryption.
     * *out / *out_len as wrap()'s *wrapped; NULL / 0 on failure.
     */
    xbcrypt_status (*rewrap)(const void *wrapped, size_t wrapped_len,
                             const char *const *recipients, size_t n_recipients, void **out,
                             size_t *out_len, char *msg, size_t msg_size);

    /* Frees what wrap() or rewrap() returned; NULL is a no-op. */
    void (*wrapped_free)(void *wrapped);
} xbcrypt_envelope_v1;

/* True when the engine's envelope table is long enough to hold `field`. */
#define XBCRYPT_ENVELOPE_HAS(env, field) \
    ((env)->struct_size >= offsetof(xbcrypt_envelope_v1, field) + sizeof((env)->field))

/*
 * The entry point, the only symbol the shared object exports.  Returns the
 * table for `abi_major`, or NULL when this engine does not implement that
 * major.  The table is static: never free it.  Thread-safe.
 */
typedef const xbcrypt_api *(*xbcrypt_api_fn)(unsigned abi_major);
XBCRYPT_EXPORT const xbcrypt_api *xbcrypt_plugin_api(unsigned abi_major);

#ifdef __cplusplus
}
#endif

#endif /* XBCRYPT_XBCRYPT_H */
