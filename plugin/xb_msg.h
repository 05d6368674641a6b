/*
 * xb_msg.h - the one way engine code writes an explanation for its caller.
 *
 * Functions that can fail before an object exists take (char *msg, size_t
 * msg_size); either may be NULL/0, and then nothing is written.
 */
#ifndef XB_MSG_H
#define XB_MSG_H

#include <stddef.h>

__attribute__((format(printf, 3, 4))) void xb_say(char *msg, size_t msg_size, const char *fmt,
                                                  ...);

#endif /* XB_MSG_H */
