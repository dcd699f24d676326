// pthread_setname_np, gettid and sync_file_range need _GNU_SOURCE, which Swift's Glibc module does not
// define: these calls are all this module is for.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <errno.h>
#include <fcntl.h>
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

int hooklog_thread_set_idle_class(void) {
#ifdef __linux__
    struct sched_param param = { .sched_priority = 0 };
    return sched_setscheduler((pid_t)gettid(), SCHED_IDLE, &param);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int hooklog_write_back(int fd, long long offset, long long length) {
#ifdef __linux__
    return sync_file_range(fd, (off_t)offset, (off_t)length,
                           SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
#else
    errno = ENOSYS;
    return -1;
#endif
}
