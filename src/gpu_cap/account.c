#include "gpu_cap/account.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { MAX_SLOTS = 512 };

struct slot {
  int32_t pid; /* 0: free */
  uint32_t reserved;
  uint64_t start_time; /* with the pid, tells a live process from one that reused its pid */
  uint64_t used[GPUCAP_MAX_DEVICES];
};

/* All zero is a valid empty account, so a fresh file needs no initialisation step that a
 * process could die in the middle of. */
struct account {
  _Atomic int32_t lock_owner; /* the holder's pid; 0: free */
  uint32_t device_count;
  char device_uuid[GPUCAP_MAX_DEVICES][GPUCAP_UUID_LENGTH];
  uint64_t device_used[GPUCAP_MAX_DEVICES]; /* the sum of the slots' use */
  struct slot slots[MAX_SLOTS];
};

static struct account* shared;
static int my_slot = -1;
static pid_t slot_owner; /* the pid my_slot was taken by: a forked child takes its own */
static pid_t self;       /* this process, as account_set_process says */

/* The process's start time in clock ticks after boot (field 22 of /proc/PID/stat); 0 when
 * unknown. */
static uint64_t start_time_of(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[1024];
  ssize_t length = read(fd, text, sizeof text - 1);
  close(fd);
  if (length <= 0) return 0;
  text[length] = '\0';
  /* The command name (field 2) may hold spaces and parentheses: count from its last ')'. */
  char* cursor = strrchr(text, ')');
  if (cursor == NULL) return 0;
  int field = 2;
  while (*cursor != '\0' && field < 22) {
    if (*cursor++ == ' ') ++field;
  }
  uint64_t ticks = 0;
  while (*cursor >= '0' && *cursor <= '9') ticks = ticks * 10 + (uint64_t)(*cursor++ - '0');
  return ticks;
}

static bool process_alive(pid_t pid) {
  return kill(pid, 0) == 0 || errno == EPERM;
}

static bool slot_alive(const struct slot* slot) {
  if (!process_alive(slot->pid)) return false;
  uint64_t now = start_time_of(slot->pid);
  return now == 0 || now == slot->start_time;
}

static void recompute_totals(void) {
  for (int device = 0; device < GPUCAP_MAX_DEVICES; ++device) {
    uint64_t sum = 0;
    for (int index = 0; index < MAX_SLOTS; ++index) {
      if (shared->slots[index].pid != 0) sum += shared->slots[index].used[device];
    }
    shared->device_used[device] = sum;
  }
}

static void lock(void) {
  for (unsigned attempt = 1;; ++attempt) {
    int32_t owner = 0;
    if (atomic_compare_exchange_weak(&shared->lock_owner, &owner, self)) return;
    if (attempt % 64 == 0) {
      /* The holder may have been killed inside: take the lock over and rebuild the totals,
       * which it may have left half-updated. */
      if (owner != 0 && owner != self && !process_alive(owner) &&
          atomic_compare_exchange_strong(&shared->lock_owner, &owner, self)) {
        recompute_totals();
        return;
      }
      sched_yield();
    }
  }
}

static void unlock(void) {
  atomic_store(&shared->lock_owner, 0);
}

static void free_slot(struct slot* slot) {
  for (int device = 0; device < GPUCAP_MAX_DEVICES; ++device) {
    shared->device_used[device] -= slot->used[device];
  }
  memset(slot, 0, sizeof *slot);
}

/* Gives back the shares of processes that are gone. Called with the lock held. */
static void reclaim_dead(void) {
  for (int index = 0; index < MAX_SLOTS; ++index) {
    struct slot* slot = &shared->slots[index];
    if (slot->pid != 0 && index != my_slot && !slot_alive(slot)) free_slot(slot);
  }
}

/* This process's slot; -1 when all are taken by live processes. Called with the lock held. */
static int own_slot(void) {
  if (my_slot >= 0 && slot_owner == self) return my_slot;
  my_slot = -1; /* a fork's child: the parent's slot and allocations are not its own */
  for (int pass = 0; pass < 2; ++pass) {
    for (int index = 0; index < MAX_SLOTS; ++index) {
      if (shared->slots[index].pid == 0) {
        struct slot* slot = &shared->slots[index];
        slot->pid = self;
        slot->start_time = start_time_of(self);
        my_slot = index;
        slot_owner = self;
        return index;
      }
    }
    reclaim_dead();
  }
  return -1;
}

void account_set_process(pid_t pid) {
  self = pid;
}

bool account_open(const char* path) {
  int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  /* The size from lseek, not fstat: fstat's symbol version is newer than older images' glibc. */
  off_t size = lseek(fd, 0, SEEK_END);
  bool ok = size >= (off_t)sizeof(struct account) ||
            (size >= 0 && ftruncate(fd, sizeof(struct account)) == 0);
  void* mapped = ok ? mmap(NULL, sizeof(struct account), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                    : MAP_FAILED;
  close(fd);
  if (mapped == MAP_FAILED) return false;
  shared = mapped;
  return true;
}

int account_device(const char* uuid) {
  lock();
  int found = -1;
  for (uint32_t index = 0; index < shared->device_count && index < GPUCAP_MAX_DEVICES; ++index) {
    if (strncmp(shared->device_uuid[index], uuid, GPUCAP_UUID_LENGTH) == 0) found = (int)index;
  }
  if (found < 0 && shared->device_count < GPUCAP_MAX_DEVICES) {
    found = (int)shared->device_count;
    strncpy(shared->device_uuid[found], uuid, GPUCAP_UUID_LENGTH - 1);
    shared->device_count++;
  }
  unlock();
  return found;
}

bool account_reserve(int device, uint64_t bytes, uint64_t limit) {
  lock();
  int slot = own_slot();
  bool fits = slot >= 0 && bytes <= limit && shared->device_used[device] <= limit - bytes;
  if (slot >= 0 && !fits) {
    reclaim_dead();
    fits = bytes <= limit && shared->device_used[device] <= limit - bytes;
  }
  if (fits) {
    shared->device_used[device] += bytes;
    shared->slots[slot].used[device] += bytes;
  }
  unlock();
  return fits;
}

void account_release(int device, uint64_t bytes) {
  lock();
  int slot = own_slot();
  if (slot >= 0) {
    uint64_t held = shared->slots[slot].used[device];
    if (bytes > held) bytes = held; /* never below zero, whatever the caller believes */
    shared->slots[slot].used[device] -= bytes;
    shared->device_used[device] -= bytes;
  }
  unlock();
}

uint64_t account_used(int device) {
  lock();
  reclaim_dead();
  uint64_t used = shared->device_used[device];
  unlock();
  return used;
}

void account_leave(void) {
  if (shared == NULL || my_slot < 0 || slot_owner != self) return;
  lock();
  free_slot(&shared->slots[my_slot]);
  my_slot = -1;
  unlock();
}
