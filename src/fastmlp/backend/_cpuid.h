/* Which x86-64 level of the compiled backend this CPU (and its operating system) can run.
 *
 * 0 baseline: x86-64 (SSE2), or any other processor;
 * 1 avx2:     x86-64-v3 (AVX, AVX2, FMA, BMI1, BMI2, F16C, LZCNT, MOVBE);
 * 2 avx512:   x86-64-v4 (v3 plus AVX-512 F, BW, CD, DQ, VL).
 *
 * GCC 12 and later test a level by name (CPUID and the OS's XSAVE support for the vector
 * registers); older GCC and Clang (whose level names came later, and whose version numbers
 * differ between Apple and LLVM) test the features one by one; MSVC reads CPUID and XGETBV
 * itself. setup.py compiles the level modules with the matching -march. An
 * aarch64 build would add its own levels here (for example SVE from getauxval(AT_HWCAP)).
 */
#ifndef FASTMLP_CPUID_H
#define FASTMLP_CPUID_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

static int fastmlp_cpu_level(void) {
    __builtin_cpu_init();
#if !defined(__clang__) && __GNUC__ >= 12
    if (__builtin_cpu_supports("x86-64-v4")) return 2;
    if (__builtin_cpu_supports("x86-64-v3")) return 1;
#else
    int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    if (v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl")) return 2;
    if (v3) return 1;
#endif
    return 0;
}

#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_AMD64))
#include <intrin.h>
#include <immintrin.h>

static int fastmlp_cpu_level(void) {
    int r[4];
    unsigned long long xcr0;
    int ecx1, ebx7;
    __cpuid(r, 0);
    if (r[0] < 7) return 0;
    __cpuid(r, 1);
    ecx1 = r[2];
    /* FMA (12), MOVBE (22), OSXSAVE (27), AVX (28), F16C (29) */
    if ((ecx1 & ((1 << 12) | (1 << 22) | (1 << 27) | (1 << 28) | (1 << 29))) !=
        ((1 << 12) | (1 << 22) | (1 << 27) | (1 << 28) | (1 << 29))) return 0;
    xcr0 = _xgetbv(0);
    if ((xcr0 & 6) != 6) return 0;  /* the OS saves XMM and YMM */
    __cpuidex(r, 7, 0);
    ebx7 = r[1];
    /* BMI1 (3), AVX2 (5), BMI2 (8) */
    if ((ebx7 & ((1 << 3) | (1 << 5) | (1 << 8))) != ((1 << 3) | (1 << 5) | (1 << 8)))
        return 0;
    __cpuid(r, 0x80000001);
    if (!(r[2] & (1 << 5))) return 0;  /* LZCNT */
    /* AVX512 F (16), DQ (17), CD (28), BW (30), VL (31); the OS saves opmask and ZMM */
    if ((ebx7 & ((1 << 16) | (1 << 17) | (1 << 28) | (1 << 30) | (1u << 31))) ==
            (int)((1 << 16) | (1 << 17) | (1 << 28) | (1 << 30) | (1u << 31)) &&
        (xcr0 & 0xe6) == 0xe6) return 2;
    return 1;
}

#else

static int fastmlp_cpu_level(void) { return 0; }

#endif
#endif
