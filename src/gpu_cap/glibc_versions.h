/* The cap is loaded into every process of images built on any glibc, older ones included:
 * a library that asked for a newer glibc symbol version than the image has would not load,
 * and /etc/ld.so.preload skips what does not load. So the dynamic-loader functions are bound
 * to their first versions, which every glibc since has kept. */
#pragma once

#if defined(__x86_64__)
#define GLIBC_BASE_VERSION "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define GLIBC_BASE_VERSION "GLIBC_2.17"
#else
#error "the GPU-memory cap is built for x86_64 and aarch64"
#endif

#define GPUCAP_PIN(symbol) __asm__(".symver " #symbol "," #symbol "@" GLIBC_BASE_VERSION)
GPUCAP_PIN(dlopen);
GPUCAP_PIN(dlvsym);
GPUCAP_PIN(dladdr);
