/*
 * plugin.c - the one exported entry point of xbcrypt-plugin.so.
 *
 * No logic lives here: the table maps each field of xbcrypt_api onto the
 * engine function of the same name in xb_engine.h.  The table is static and
 * const, so handing it out needs no initialisation and no lock; a host calls
 * api->init() itself (nothing runs in a constructor).
 *
 * Growing the ABI: append a field to xbcrypt_api in the public header, then
 * append its initialiser here.  struct_size grows with it, and older hosts,
 * which only read what XBCRYPT_API_HAS() allows, keep working.
 */
#include "envelope/xb_envelope.h"
#include "xb_engine.h"

#include <xbcrypt/xbcrypt.h>

#include <stddef.h>
#include <string.h>

/* "xbcrypt.envelope.v1": grows like xbcrypt_api, by appending only. */
static const xbcrypt_envelope_v1 xb_envelope_v1 = {
    .struct_size = sizeof(xbcrypt_envelope_v1),
    .check_recipients = xb_envelope_check_recipients,
    .wrap = xb_envelope_wrap,
    .unwrap = xb_envelope_unwrap,
    .rewrap = xb_envelope_rewrap,
    .wrapped_free = xb_envelope_free,
};

/* Optional features by exact name; anything else (NULL included) is
 * unknown. */
static const void *xb_extension(const char *name)
{
    if (name && strcmp(name, XBCRYPT_ENVELOPE_V1) == 0)
        return &xb_envelope_v1;
    return NULL;
}

static const xbcrypt_api xb_api_v1 = {
    .abi_major = XBCRYPT_ABI_MAJOR,
    .struct_size = sizeof(xbcrypt_api),

    .version_number = xb_version_number,
    .version_string = xb_version_string,
    .init = xb_init,
    .cleanup = xb_cleanup,
    .status_name = xb_status_name,
    .settings_default = xb_settings_default,

    .key_from_file = xb_key_from_file,
    .key_from_fd = xb_key_from_fd,
    .key_from_bytes = xb_key_from_bytes,
    .key_size = xb_key_size,
    .key_free = xb_key_free,

    .encoder_new = xb_encoder_new,
    .encoder_feed = xb_encoder_feed,
    .encoder_finish = xb_encoder_finish,
    .encoder_free = xb_encoder_free,
    .encoder_status = xb_encoder_status,
    .encoder_message = xb_encoder_message,
    .encoder_stats = xb_encoder_stats,

    .decoder_new = xb_decoder_new,
    .decoder_feed = xb_decoder_feed,
    .decoder_finish = xb_decoder_finish,
    .decoder_free = xb_decoder_free,
    .decoder_status = xb_decoder_status,
    .decoder_message = xb_decoder_message,
    .decoder_stats = xb_decoder_stats,

    .extension = xb_extension,

    .encoder_write_error = xb_encoder_write_error,
    .decoder_write_error = xb_decoder_write_error,
    .encoder_buffer = xb_encoder_buffer,
    .encoder_commit = xb_encoder_commit,
    .decoder_buffer = xb_decoder_buffer,
    .decoder_commit = xb_decoder_commit,
    .decoder_fault = xb_decoder_fault,

    .archive_settings_default = xb_archive_settings_default,
    .archive_new = xb_archive_new,
    .archive_feed = xb_archive_feed,
    .archive_finish = xb_archive_finish,
    .archive_free = xb_archive_free,
    .archive_status = xb_archive_status,
    .archive_message = xb_archive_message,
    .archive_summary = xb_archive_summary,
    .archive_stats = xb_archive_stats,
    .archive_write_error = xb_archive_write_error,
    .archive_check_new = xb_archive_check_new,
    .archive_check_feed = xb_archive_check_feed,
    .archive_check_finish = xb_archive_check_finish,
    .archive_check_status = xb_archive_check_status,
    .archive_check_message = xb_archive_check_message,
    .archive_check_summary = xb_archive_check_summary,
    .archive_check_free = xb_archive_check_free,
};

XBCRYPT_EXPORT const xbcrypt_api *xbcrypt_plugin_api(unsigned abi_major)
{
    if (abi_major != XBCRYPT_ABI_MAJOR)
        return NULL;
    return &xb_api_v1;
}
