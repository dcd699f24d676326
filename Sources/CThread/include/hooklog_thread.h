#ifndef HOOKLOG_THREAD_H
#define HOOKLOG_THREAD_H

/// Names the calling thread as `top -H` and `perf` show it (at most 15 bytes are kept).
void hooklog_thread_set_name(const char *name);

/// Lowers the calling thread's CPU priority by `niceness` (Linux: per-thread nice); returns 0 on success.
int hooklog_thread_set_niceness(int niceness);
/// Moves the calling thread to the idle scheduling class (Linux SCHED_IDLE: it runs only when no other
/// thread wants the CPU, and gives it up at once when one does); returns 0 on success, -1 with errno
/// set (ENOSYS where there is no such class).
int hooklog_thread_set_idle_class(void);

/// Writes back the dirty pages of `fd` in `offset ..< offset + length` and waits for them (Linux
/// `sync_file_range`, which also needs _GNU_SOURCE); returns 0 on success, -1 with errno set (or where
/// there is no such call).
int hooklog_write_back(int fd, long long offset, long long length);

#endif
