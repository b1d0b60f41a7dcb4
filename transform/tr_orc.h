/* transform/tr_orc.h: one lock around liborc's code memory, which Debian 12's liborc 0.4.33
 * does not guard (see tr_orc.c). Linking tr_orc.o into a program is all it takes. */
#ifndef TR_ORC_H
#define TR_ORC_H

#include <stdbool.h>

/* Whether libvips's calls to orc_program_compile() and orc_program_free() go through the
 * lock in this process: tr_orc.o is linked into the program and the real functions exist.
 * Always true in our programs; the tests check it. */
bool tr_orc_guarded(void);

/* How many orc programs were compiled through the lock so far (for the tests). */
unsigned long tr_orc_compiled(void);

#endif
