/* What this process allocated and the cap counted: by device pointer, VMM handle or array,
 * so that a free gives back exactly what its allocation took. Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum allocation_kind { ALLOCATION_POINTER = 1, ALLOCATION_HANDLE, ALLOCATION_ARRAY };

struct allocation {
  uint64_t bytes;
  int device; /* the account's device slot */
};

/* False when there is no memory to remember it (the caller undoes the allocation). An entry
 * already under the key (freed where the cap did not see it) is handed back in `replaced`
 * (bytes 0 when there was none) for the caller to give back. */
bool allocations_add(enum allocation_kind kind, uint64_t key, struct allocation allocation,
                     struct allocation* replaced);
/* Removes and returns the entry; false for what the cap never saw (it reaches the driver). */
bool allocations_take(enum allocation_kind kind, uint64_t key, struct allocation* allocation);
/* Forgets everything: a forked child owns none of its parent's allocations. */
void allocations_forget_all(void);
