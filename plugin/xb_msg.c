/* xb_msg.c - formatting messages into a caller's optional buffer. */
#include "xb_msg.h"

#include <stdarg.h>
#include <stdio.h>

void xb_say(char *msg, size_t msg_size, const char *fmt, ...)
{
    if (!msg || !msg_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_size, fmt, ap);
    va_end(ap);
}
