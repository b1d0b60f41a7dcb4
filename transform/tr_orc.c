/* transform/tr_orc.c: serialise libvips's compiling and freeing of liborc programs.
 *
 * libvips 8.14 compiles small SIMD programs with liborc when it builds some operations
 * (vips_reducev, which every resize uses, and the integer convolutions) and frees them when
 * the operation goes. liborc 0.4.33, Debian 12's, allocates their code memory under its own
 * lock but frees it without one (orc_code_chunk_free() merges neighbouring chunks of a shared
 * list unlocked; later liborc releases take the lock there). Two threads transforming at once
 * thus corrupt that list now and then: blobhttpd's two workers crashed in orc_code_free()
 * under load, and tests/test_tr_orc.c, four threads resizing, crashes within seconds without
 * this file. Turning liborc off (VIPS_NOVECTOR) avoids the race but costs up to 45 % more CPU
 * per image (a 1920x1080 JPEG to w-300,h-300: 6.6 to 9.5 ms).
 *
 * So this file defines orc_program_compile() and orc_program_free() itself. libvips calls
 * them through its PLT, and the dynamic linker binds those calls to the program's own
 * definitions first; each takes one process-wide lock and calls liborc's function (found with
 * dlsym(RTLD_NEXT)). Every allocation and every free of orc code made for libvips is then one
 * at a time. That costs nothing measurable: a resize compiles two programs, in well under a
 * millisecond, beside milliseconds of decoding. The lock is ours, not liborc's, so a liborc
 * that locks inside these functions cannot deadlock on it; it is recursive in case a liborc
 * ever calls one of them from inside the other through its PLT. */
#include "tr_orc.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

/* liborc's own types, opaque here: only pointers pass through. OrcCompileResult is an enum. */
typedef struct _OrcProgram OrcProgram;
int orc_program_compile(OrcProgram *program);
void orc_program_free(OrcProgram *program);

#define ORC_COMPILE_RESULT_UNKNOWN_COMPILE 0x100 /* liborc's "could not compile" */

static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int (*real_compile)(OrcProgram *);
static void (*real_free)(OrcProgram *);
static unsigned long compiled; /* under lock */

static void find_real(void)
{
    void *compile = dlsym(RTLD_NEXT, "orc_program_compile");
    void *free_fn = dlsym(RTLD_NEXT, "orc_program_free");

    /* ISO C has no conversion from void * to a function pointer; POSIX guarantees the bytes. */
    memcpy(&real_compile, &compile, sizeof(real_compile));
    memcpy(&real_free, &free_fn, sizeof(real_free));
}

int orc_program_compile(OrcProgram *program)
{
    pthread_once(&once, find_real);
    if (!real_compile)
        return ORC_COMPILE_RESULT_UNKNOWN_COMPILE; /* libvips then runs its plain C code */
    pthread_mutex_lock(&lock);
    int ret = real_compile(program);
    compiled++;
    pthread_mutex_unlock(&lock);
    return ret;
}

void orc_program_free(OrcProgram *program)
{
    pthread_once(&once, find_real);
    if (!real_free)
        return;
    pthread_mutex_lock(&lock);
    real_free(program);
    pthread_mutex_unlock(&lock);
}

bool tr_orc_guarded(void)
{
    void *seen = dlsym(RTLD_DEFAULT, "orc_program_free");
    void (*ours)(OrcProgram *) = orc_program_free;
    void *mine;

    memcpy(&mine, &ours, sizeof(mine));
    pthread_once(&once, find_real);
    return seen == mine && real_compile && real_free;
}

unsigned long tr_orc_compiled(void)
{
    pthread_mutex_lock(&lock);
    unsigned long n = compiled;
    pthread_mutex_unlock(&lock);
    return n;
}
