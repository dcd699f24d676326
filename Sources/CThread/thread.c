// pthread_setname_np and gettid need _GNU_SOURCE, which Swift's Glibc module does not define: these
// two calls are all this module is for.
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "hooklog_thread.h"

void hooklog_thread_set_name(const char *name) {
    char shortName[16];
    strncpy(shortName, name, sizeof shortName - 1);
    shortName[sizeof shortName - 1] = 0;
    pthread_setname_np(pthread_self(), shortName);
}

int hooklog_thread_set_niceness(int niceness) {
#ifdef __linux__
    return setpriority(PRIO_PROCESS, (id_t)gettid(), niceness);
#else
    return -1;
#endif
}
