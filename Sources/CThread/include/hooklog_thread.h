#ifndef HOOKLOG_THREAD_H
#define HOOKLOG_THREAD_H

/// Names the calling thread as `top -H` and `perf` show it (at most 15 bytes are kept).
void hooklog_thread_set_name(const char *name);

/// Lowers the calling thread's CPU priority by `niceness` (Linux: per-thread nice); returns 0 on success.
int hooklog_thread_set_niceness(int niceness);

#endif
