/* xb_engine.c - engine-wide entry points: version, init, names, defaults. */
#include "xb_engine.h"

#include "crypto/xb_crypto.h"

#include <string.h>

#define XB_STR2(x) #x
#define XB_STR(x) XB_STR2(x)

unsigned xb_version_number(void)
{
    return XBCRYPT_VERSION_NUMBER(XBCRYPT_VERSION_MAJOR, XBCRYPT_VERSION_MINOR,
                                  XBCRYPT_VERSION_PATCH);
}

const char *xb_version_string(void)
{
    return XB_STR(XBCRYPT_VERSION_MAJOR) "." XB_STR(XBCRYPT_VERSION_MINOR) "." XB_STR(
        XBCRYPT_VERSION_PATCH);
}

xbcrypt_status xb_init(void)
{
    return xb_crypto_init(NULL, 0);
}

xbcrypt_status xb_init_msg(char *msg, size_t msg_size)
{
    return xb_crypto_init(msg, msg_size);
}

const char *xb_secure_memory_warning(void)
{
    return xb_crypto_unlocked();
}

void xb_cleanup(void)
{
    /* libgcrypt keeps its state for the life of the process (the host may
     * use it too); the engine itself holds nothing global. */
}

const char *xb_status_name(xbcrypt_status status)
{
    switch (status) {
    case XBCRYPT_OK: return "success";
    case XBCRYPT_E_ARG: return "invalid argument";
    case XBCRYPT_E_NOMEM: return "out of memory";
    case XBCRYPT_E_KEY: return "unusable key";
    case XBCRYPT_E_CRYPTO: return "cryptographic library failure";
    case XBCRYPT_E_WRITE: return "output write failed";
    case XBCRYPT_E_MAGIC: return "not an xbcrypt chunk";
    case XBCRYPT_E_LIMIT: return "size field out of range";
    case XBCRYPT_E_CRC: return "CRC mismatch";
    case XBCRYPT_E_HASH: return "SHA-256 mismatch";
    case XBCRYPT_E_WRONG_KEY: return "wrong key";
    case XBCRYPT_E_TRUNCATED: return "stream truncated inside a chunk";
    case XBCRYPT_E_STATE: return "call out of order";
    case XBCRYPT_E_THREAD: return "cannot start threads";
    case XBCRYPT_E_IO: return "cannot read key";
    case XBCRYPT_E_UNSUPPORTED: return "not supported";
    }
    return "unknown status";
}

void xb_settings_default(xbcrypt_settings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    s->algo = XBCRYPT_ALGO_AES256;
    s->chunk_size = XBCRYPT_CHUNK_SIZE_DEFAULT;
    s->read_buffer_size = XBCRYPT_READ_BUFFER_DEFAULT;
    s->threads = 1;
}
