/*
 * xbcrypt-host.c - a minimal host for xbcrypt-plugin.so: load it with
 * dlopen(), check that its ABI is the one this file was compiled against,
 * encrypt a file, then decrypt the result.  Copy it as the start of your
 * own tool.
 *
 *   xbcrypt-host KEYFILE INPUT ENCRYPTED DECRYPTED
 *
 * The shared object is $XBCRYPT_PLUGIN if set, else the one in the
 * directory pkg-config names:
 *
 *   cc xbcrypt-host.c $(pkg-config --cflags --libs xbcrypt) \
 *      -DXBCRYPT_HOST_PLUGINDIR="\"$(pkg-config --variable=plugindir xbcrypt)\""
 */
#include <xbcrypt/xbcrypt.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef XBCRYPT_HOST_PLUGINDIR
#define DEFAULT_PLUGIN XBCRYPT_HOST_PLUGINDIR "/" XBCRYPT_PLUGIN_SONAME
#else
#define DEFAULT_PLUGIN XBCRYPT_PLUGIN_SONAME /* found on the loader's path */
#endif

/* Write callback: the engine hands over finished output here. */
static int put(void *fp, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, fp) == len ? 0 : -1;
}

/* Returns the table, or NULL with a message on stderr. */
static const xbcrypt_api *load(const char *path, void **handle)
{
    *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*handle) {
        fprintf(stderr, "xbcrypt-host: %s\n", dlerror());
        return NULL;
    }
    /* ISO C cannot convert dlsym()'s void * to a function pointer; POSIX
     * says the bytes are the same, so copy them. */
    void *sym = dlsym(*handle, XBCRYPT_PLUGIN_SYMBOL);
    xbcrypt_api_fn entry = NULL;
    if (sym)
        memcpy(&entry, &sym, sizeof entry);
    const xbcrypt_api *api = entry ? entry(XBCRYPT_ABI_MAJOR) : NULL;
    if (!api) {
        fprintf(stderr, "xbcrypt-host: %s does not offer ABI %d\n", path, XBCRYPT_ABI_MAJOR);
        return NULL;
    }
    /* An older engine may have a shorter table: check the last field used. */
    if (api->abi_major != XBCRYPT_ABI_MAJOR || !XBCRYPT_API_HAS(api, decoder_stats)) {
        fprintf(stderr, "xbcrypt-host: %s is too old\n", path);
        return NULL;
    }
    return api;
}

/* Encrypt (decrypt == 0) or decrypt the file `from` into `to`. */
static int convert(const xbcrypt_api *api, const xbcrypt_settings *s, int decrypt,
                   const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    if (!in || !out) {
        fprintf(stderr, "xbcrypt-host: cannot open %s\n", in ? to : from);
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return -1;
    }
    char msg[256] = "";
    xbcrypt_encoder *enc = NULL;
    xbcrypt_decoder *dec = NULL;
    xbcrypt_status st = decrypt ? api->decoder_new(s, put, out, &dec, msg, sizeof msg)
                                : api->encoder_new(s, put, out, &enc, msg, sizeof msg);
    static char buf[1 << 16];
    size_t n;
    while (st == XBCRYPT_OK && (n = fread(buf, 1, sizeof buf, in)) > 0)
        st = decrypt ? api->decoder_feed(dec, buf, n) : api->encoder_feed(enc, buf, n);
    if (st == XBCRYPT_OK && ferror(in)) {
        fprintf(stderr, "xbcrypt-host: cannot read %s\n", from);
        st = XBCRYPT_E_IO;
    } else if (st == XBCRYPT_OK) {
        /* finish() writes the last chunk; the decoder's reports truncation. */
        st = decrypt ? api->decoder_finish(dec) : api->encoder_finish(enc);
    }
    if (st != XBCRYPT_OK && (enc || dec))
        snprintf(msg, sizeof msg, "%s", enc ? api->encoder_message(enc) : api->decoder_message(dec));
    /* struct_size says how much the engine may write: always set it. */
    xbcrypt_stats stats = {.struct_size = sizeof stats};
    if (st == XBCRYPT_OK && decrypt)
        api->decoder_stats(dec, &stats);
    else if (st == XBCRYPT_OK)
        api->encoder_stats(enc, &stats);
    api->encoder_free(enc);
    api->decoder_free(dec);
    fclose(in);
    if (fclose(out) != 0 && st == XBCRYPT_OK) {
        fprintf(stderr, "xbcrypt-host: cannot write %s\n", to);
        return -1;
    }
    if (st != XBCRYPT_OK) {
        fprintf(stderr, "xbcrypt-host: %s: %s: %s\n", from, api->status_name(st), msg);
        remove(to); /* never leave a partial output behind */
        return -1;
    }
    printf("%s %s -> %s: %llu chunks, %llu plaintext bytes\n", decrypt ? "decrypted" : "encrypted",
           from, to, (unsigned long long)stats.chunks, (unsigned long long)stats.plaintext_bytes);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: xbcrypt-host KEYFILE INPUT ENCRYPTED DECRYPTED\n");
        return 2;
    }
    const char *path = getenv("XBCRYPT_PLUGIN");
    void *handle = NULL;
    const xbcrypt_api *api = load(path && *path ? path : DEFAULT_PLUGIN, &handle);
    if (!api || api->init() != XBCRYPT_OK) {
        if (handle)
            dlclose(handle);
        return 1;
    }
    printf("xbcrypt engine %s\n", api->version_string());

    char msg[256];
    xbcrypt_key *key = NULL;
    int rc = 1;
    if (api->key_from_file(argv[1], &key, msg, sizeof msg) != XBCRYPT_OK) {
        fprintf(stderr, "xbcrypt-host: %s\n", msg);
    } else {
        xbcrypt_settings s;
        api->settings_default(&s); /* always first: it sets struct_size */
        s.algo = XBCRYPT_ALGO_AES256;
        s.key = key;
        s.threads = 2;
        if (convert(api, &s, 0, argv[2], argv[3]) == 0 && convert(api, &s, 1, argv[3], argv[4]) == 0)
            rc = 0;
    }
    api->key_free(key); /* wipes the key */
    api->cleanup();
    dlclose(handle);
    return rc;
}
