/* The session's GPU-memory account: one file in shared memory that every process of the
 * session maps, so that the cap holds for all of them together. Check-and-add is one step
 * under a lock in the file; a process that died (even holding the lock, even mid-allocation)
 * gives its share back the next time someone needs the room. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum { GPUCAP_MAX_DEVICES = 8, GPUCAP_UUID_LENGTH = 48 };

/* Which process this is: set before the first use and again in a forked child (the caller
 * knows when; the account would otherwise ask the kernel on every call). */
void account_set_process(pid_t pid);

/* Maps the account file, creating its contents on first use. False (and nothing mapped)
 * when the file cannot be opened: the caller refuses allocations then. */
bool account_open(const char* path);

/* The account's slot for a device, by UUID text ("GPU-…"); -1 when the table is full. */
int account_device(const char* uuid);

/* Adds bytes to this process's use of the device when the session stays within limit;
 * false otherwise. Dead processes' shares are reclaimed before refusing. */
bool account_reserve(int device, uint64_t bytes, uint64_t limit);
void account_release(int device, uint64_t bytes);
/* The whole session's use of the device, with dead processes' shares reclaimed. */
uint64_t account_used(int device);
/* This process's slot goes back (at exit; the driver frees its memory then). */
void account_leave(void);
