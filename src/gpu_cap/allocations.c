#include "gpu_cap/allocations.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing with linear probing; deletions shift the run back, so there are no
 * tombstones and lookups stay short. */
struct entry {
  uint64_t key;
  uint32_t kind; /* 0: empty */
  int32_t device;
  uint64_t bytes;
};

static struct entry* table;
static size_t capacity; /* a power of two */
static size_t count;
static atomic_flag busy = ATOMIC_FLAG_INIT;

static void lock(void) {
  while (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire)) sched_yield();
}

static void unlock(void) {
  atomic_flag_clear_explicit(&busy, memory_order_release);
}

static size_t home_of(uint64_t key, uint32_t kind, size_t size) {
  uint64_t mixed = (key ^ ((uint64_t)kind << 61)) * 0x9E3779B97F4A7C15ULL;
  return (size_t)(mixed >> 17) & (size - 1);
}

static void place(struct entry* entries, size_t size, struct entry item) {
  size_t index = home_of(item.key, item.kind, size);
  while (entries[index].kind != 0) index = (index + 1) & (size - 1);
  entries[index] = item;
}

static bool grow(void) {
  size_t bigger = capacity == 0 ? 256 : capacity * 2;
  struct entry* entries = calloc(bigger, sizeof *entries);
  if (entries == NULL) return false;
  for (size_t index = 0; index < capacity; ++index) {
    if (table[index].kind != 0) place(entries, bigger, table[index]);
  }
  free(table);
  table = entries;
  capacity = bigger;
  return true;
}

static size_t find(uint64_t key, uint32_t kind) {
  if (capacity == 0) return SIZE_MAX;
  for (size_t index = home_of(key, kind, capacity);; index = (index + 1) & (capacity - 1)) {
    if (table[index].kind == 0) return SIZE_MAX;
    if (table[index].kind == kind && table[index].key == key) return index;
  }
}

static void remove_at(size_t hole) {
  table[hole].kind = 0;
  for (size_t index = (hole + 1) & (capacity - 1); table[index].kind != 0;
       index = (index + 1) & (capacity - 1)) {
    size_t home = home_of(table[index].key, table[index].kind, capacity);
    /* Move the entry into the hole when its home is not between the hole and it. */
    bool stays = hole <= index ? (hole < home && home <= index) : (hole < home || home <= index);
    if (!stays) {
      table[hole] = table[index];
      table[index].kind = 0;
      hole = index;
    }
  }
  --count;
}

bool allocations_add(enum allocation_kind kind, uint64_t key, struct allocation allocation,
                     struct allocation* replaced) {
  lock();
  *replaced = (struct allocation){0, 0};
  size_t existing = find(key, kind);
  if (existing != SIZE_MAX) {
    *replaced = (struct allocation){table[existing].bytes, table[existing].device};
    remove_at(existing);
  }
  bool ok = (count + 1) * 2 <= capacity || grow();
  if (ok) {
    place(table, capacity,
          (struct entry){key, (uint32_t)kind, allocation.device, allocation.bytes});
    ++count;
  }
  unlock();
  return ok;
}

bool allocations_take(enum allocation_kind kind, uint64_t key, struct allocation* allocation) {
  lock();
  size_t index = find(key, kind);
  if (index != SIZE_MAX) {
    allocation->bytes = table[index].bytes;
    allocation->device = table[index].device;
    remove_at(index);
  }
  unlock();
  return index != SIZE_MAX;
}

void allocations_forget_all(void) {
  lock();
  if (table != NULL) memset(table, 0, capacity * sizeof *table);
  count = 0;
  unlock();
}
