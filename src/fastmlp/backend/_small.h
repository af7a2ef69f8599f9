/* Tiny row-major products as plain loops (_blas.pyx: gemm_small).
 *
 * A BLAS call costs tens of nanoseconds before it multiplies anything, which is more than
 * the whole product when a small network is trained one sample at a time (a 16 x 16
 * layer: 256 multiply-adds). _blas.pyx sends the products below its size bounds here.
 *
 * C (m, n) = alpha op(A) (m, k) op(B) (k, n) + beta C, all row-major with leading
 * dimensions lda, ldb, ldc. With k = 1 (a weight gradient of one sample) C is an outer
 * product, row i being alpha A'[i, 0] times op(B)'s row; otherwise one of two loop orders:
 *   rows: with B not transposed, each block of a register's width of columns of row i of
 *     C is built in a register as a sum over p of A'[i, p] times that block of row p of B
 *     (no reduction); columns past the last whole block are summed one by one, in the
 *     same order;
 *   dots: with B transposed each C[i, j] is a dot product of row i of A' and row j of B.
 *     A contiguous dot product of k >= LANES keeps LANES running sums (sum q holds the
 *     terms p = q mod LANES, in order), added pairwise at the end; where shuffles allow
 *     (AVX-512, and floats on AVX), LANES of them at once, their pairwise sums in one
 *     tree of vector additions.
 * A product of one column (whole_n = 1: the whole product's columns) is a dot product of
 * each row of A' with B's contiguous column.
 * Every sum is in a fixed order, element-wise IEEE arithmetic without fused multiply-adds
 * (see setup.py), so every build level computes the same values; and every element is
 * computed the same way in any block of rows or columns of C (team mode splits products
 * between threads so). With GCC and Clang the blocks are vector types no wider than the
 * target's registers (GCC keeps a wider vector that a loop carries in memory); the LANES
 * running sums are one such vector only with AVX-512, arrays elsewhere and with other
 * compilers.
 */
#ifndef FASTMLP_SMALL_H
#define FASTMLP_SMALL_H

#include <stddef.h>
#include <string.h>

#define FASTMLP_SMALL_LANES 16

#if defined(__GNUC__)
/* row blocks: the widest vector the target has (GCC keeps a wider generic vector that is
   carried around a loop in memory, which made the AVX2 level's rows path 10x slower);
   a column's sum does not depend on how many columns a block holds */
#if defined(__AVX512F__)
#define FASTMLP_ROW_BYTES 64
#elif defined(__AVX__)
#define FASTMLP_ROW_BYTES 32
#else
#define FASTMLP_ROW_BYTES 16
#endif
typedef float fastmlp_vs_row __attribute__((vector_size(FASTMLP_ROW_BYTES), aligned(4)));
typedef double fastmlp_vd_row __attribute__((vector_size(FASTMLP_ROW_BYTES), aligned(8)));
#define FASTMLP_ROW_LANES(T) (FASTMLP_ROW_BYTES / (int)sizeof(T))
typedef float fastmlp_vs __attribute__((vector_size(64), aligned(4)));
typedef float fastmlp_vs_8 __attribute__((vector_size(32)));
typedef float fastmlp_vs_4 __attribute__((vector_size(16)));
typedef double fastmlp_vd __attribute__((vector_size(128), aligned(8)));
typedef double fastmlp_vd_8 __attribute__((vector_size(64)));
typedef double fastmlp_vd_4 __attribute__((vector_size(32)));
#define FASTMLP_VLOAD(V, p) (*(const V*)(p))
#define FASTMLP_VSTORE(V, p, x) (*(V*)(p) = (x))
#if defined(__clang__) || __GNUC__ >= 12
#define FASTMLP_SHUF2(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#endif
#endif

#define FASTMLP_SMALL_PRODUCTS(T, S, V)                                                     \
static inline T fastmlp_sum_lanes_##S(const T* acc)                                         \
{                                                                                           \
    T h[8];                                                                                 \
    int q;                                                                                  \
    for (q = 0; q < 8; q++)                                                                 \
        h[q] = acc[q] + acc[q + 8];                                                         \
    for (q = 0; q < 4; q++)                                                                 \
        h[q] = h[q] + h[q + 4];                                                             \
    return (h[0] + h[2]) + (h[1] + h[3]);                                                   \
}                                                                                           \
                                                                                            \
/* a . b over k terms, a with stride sa (contiguous: sa is 1 and not only by chance, so     \
   that the choice of loop does not depend on the block of C) */                            \
static inline T fastmlp_dot_##S(const T* a, ptrdiff_t sa, int contiguous, const T* b,       \
                                int k)                                                      \
{                                                                                           \
    T s = 0;                                                                                \
    int p = 0;                                                                              \
    if (contiguous && k >= FASTMLP_SMALL_LANES) {                                           \
        FASTMLP_SMALL_DOT_LANES(T, S, V)                                                    \
    }                                                                                       \
    for (; p < k; p++)                                                                      \
        s += a[p * sa] * b[p];                                                              \
    return s;                                                                               \
}                                                                                           \
                                                                                            \
static void fastmlp_small_gemm_##S(int trans_a, int trans_b, int m, int n, int k, T alpha,  \
                                   const T* a, int lda, const T* b, int ldb, T beta,        \
                                   T* c, int ldc, int whole_n)                              \
{                                                                                           \
    int i, j, p;                                                                            \
    /* strides of A' along p and between its rows */                                        \
    ptrdiff_t a_p = trans_a ? lda : 1, a_i = trans_a ? 1 : lda;                             \
    if (k == 1) {   /* an outer product: row i of C is A'[i, 0] times row 0 of op(B) */     \
        ptrdiff_t b_j = trans_b ? ldb : 1;                                                  \
        if (n == 1 && beta == 0) {                                                          \
            for (i = 0; i < m; i++)                                                         \
                c[(ptrdiff_t)i * ldc] = (alpha * a[i * a_i]) * b[0];                        \
            return;                                                                         \
        }                                                                                   \
        for (i = 0; i < m; i++) {                                                           \
            T* ci = c + (ptrdiff_t)i * ldc;                                                 \
            T ai = alpha * a[i * a_i];                                                      \
            if (beta != 0) {                                                                \
                for (j = 0; j < n; j++)                                                     \
                    ci[j] = beta * ci[j] + ai * b[j * b_j];                                 \
            } else if (b_j == 1) {                                                          \
                for (j = 0; j < n; j++)                                                     \
                    ci[j] = ai * b[j];                                                      \
            } else {                                                                        \
                for (j = 0; j < n; j++)                                                     \
                    ci[j] = ai * b[j * b_j];                                                \
            }                                                                               \
        }                                                                                   \
        return;                                                                             \
    }                                                                                       \
    for (i = 0; i < m; i++) {                                                               \
        T* ci = c + (ptrdiff_t)i * ldc;                                                     \
        const T* ai = a + i * a_i;                                                          \
        if (trans_b) {                                                                      \
            j = 0;                                                                          \
            FASTMLP_SMALL_DOT_BLOCKS(T, S, V)                                               \
            for (; j < n; j++) {                                                            \
                T s = fastmlp_dot_##S(ai, a_p, !trans_a,                                    \
                                      b + (ptrdiff_t)j * ldb, k);                           \
                ci[j] = beta == 0 ? alpha * s : alpha * s + beta * ci[j];                   \
            }                                                                               \
            continue;                                                                       \
        }                                                                                   \
        j = 0;                                                                              \
        FASTMLP_SMALL_ROW_BLOCKS(T, S, V)                                                   \
        if (whole_n == 1) {   /* op(B) is one contiguous column: a dot product */           \
            T s = alpha * fastmlp_dot_##S(ai, a_p, !trans_a, b, k);                         \
            ci[0] = beta == 0 ? s : s + beta * ci[0];                                       \
            continue;                                                                       \
        }                                                                                   \
        for (; j < n; j++) {                                                                \
            T s = beta == 0 ? (T)0 : beta * ci[j];                                          \
            for (p = 0; p < k; p++)                                                         \
                s += (alpha * ai[p * a_p]) * b[(ptrdiff_t)p * ldb + j];                     \
            ci[j] = s;                                                                      \
        }                                                                                   \
    }                                                                                       \
}

/* dot products: LANES running sums in one vector type where it is one register
   (AVX-512); elsewhere arrays, which the compiler vectorizes at the target's width
   (the same sums in the same order) */
#if defined(__GNUC__) && defined(__AVX512F__)
/* acc: LANES sums in one vector, each lane summing its terms in order */
#define FASTMLP_SMALL_DOT_LANES(T, S, V)                                                    \
        V acc = FASTMLP_VLOAD(V, a) * FASTMLP_VLOAD(V, b);                                  \
        for (p = FASTMLP_SMALL_LANES; p + FASTMLP_SMALL_LANES <= k;                         \
             p += FASTMLP_SMALL_LANES)                                                      \
            acc += FASTMLP_VLOAD(V, a + p) * FASTMLP_VLOAD(V, b + p);                       \
        for (; p < k; p++)                                                                  \
            s += a[p] * b[p];                                                               \
        FASTMLP_SMALL_SUM_VECTOR(T, S, V)
#if defined(__clang__) || __GNUC__ >= 12
/* fastmlp_sum_lanes of acc, on the vector's halves (__builtin_shufflevector: GCC 12+) */
#define FASTMLP_SMALL_SUM_VECTOR(T, S, V)                                                   \
        V##_8 h8 = __builtin_shufflevector(acc, acc, 0, 1, 2, 3, 4, 5, 6, 7)                \
            + __builtin_shufflevector(acc, acc, 8, 9, 10, 11, 12, 13, 14, 15);              \
        V##_4 h4 = __builtin_shufflevector(h8, h8, 0, 1, 2, 3)                              \
            + __builtin_shufflevector(h8, h8, 4, 5, 6, 7);                                  \
        return ((h4[0] + h4[2]) + (h4[1] + h4[3])) + s;
/* LANES dot products C[i, j .. j + LANES - 1] at once: each one's running sums as above,
 * then the pairwise sums of all of them in one tree of vector additions (lane-wise the
 * same additions as FASTMLP_SMALL_SUM_VECTOR: the same bits as one dot product at a time).
 * Step t adds, for pairs of vectors, the lanes each dot product adds at that step. */
#define FASTMLP_UNROLL _Pragma("GCC unroll 16")
#define FASTMLP_SMALL_DOT_BLOCKS(T, S, V)                                                   \
            if (!trans_a && k >= FASTMLP_SMALL_LANES) {                                     \
                for (; j + FASTMLP_SMALL_LANES <= n; j += FASTMLP_SMALL_LANES) {            \
                    V acc[FASTMLP_SMALL_LANES], h8[8], h4[4], h2[2], tail = (V){0}, r;      \
                    const T* bj = b + (ptrdiff_t)j * ldb;                                   \
                    int q, whole = k / FASTMLP_SMALL_LANES * FASTMLP_SMALL_LANES;           \
                    FASTMLP_UNROLL                                                          \
                    for (q = 0; q < FASTMLP_SMALL_LANES; q++)                               \
                        acc[q] = FASTMLP_VLOAD(V, ai) * FASTMLP_VLOAD(V, bj + q * ldb);     \
                    for (p = FASTMLP_SMALL_LANES; p < whole; p += FASTMLP_SMALL_LANES) {    \
                        V ap = FASTMLP_VLOAD(V, ai + p);                                    \
                        FASTMLP_UNROLL                                                      \
                        for (q = 0; q < FASTMLP_SMALL_LANES; q++)                           \
                            acc[q] += ap * FASTMLP_VLOAD(V, bj + q * ldb + p);              \
                    }                                                                       \
                    if (whole < k) {                                                        \
                        for (q = 0; q < FASTMLP_SMALL_LANES; q++) {                         \
                            T s = 0;                                                        \
                            for (p = whole; p < k; p++)                                     \
                                s += ai[p] * bj[q * ldb + p];                               \
                            tail[q] = s;                                                    \
                        }                                                                   \
                    }                                                                       \
                    for (q = 0; q < 8; q++)   /* lanes l and l + 8 of dots 2q, 2q + 1 */    \
                        h8[q] = FASTMLP_SHUF2(acc[2 * q], acc[2 * q + 1],                   \
                                              0, 1, 2, 3, 4, 5, 6, 7,                       \
                                              16, 17, 18, 19, 20, 21, 22, 23)               \
                            + FASTMLP_SHUF2(acc[2 * q], acc[2 * q + 1],                     \
                                            8, 9, 10, 11, 12, 13, 14, 15,                   \
                                            24, 25, 26, 27, 28, 29, 30, 31);                \
                    for (q = 0; q < 4; q++)   /* l and l + 4 of dots 4q .. 4q + 3 */        \
                        h4[q] = FASTMLP_SHUF2(h8[2 * q], h8[2 * q + 1],                     \
                                              0, 1, 2, 3, 8, 9, 10, 11,                     \
                                              16, 17, 18, 19, 24, 25, 26, 27)               \
                            + FASTMLP_SHUF2(h8[2 * q], h8[2 * q + 1],                       \
                                            4, 5, 6, 7, 12, 13, 14, 15,                     \
                                            20, 21, 22, 23, 28, 29, 30, 31);                \
                    for (q = 0; q < 2; q++)   /* 0 + 2 and 1 + 3 of dots 8q .. 8q + 7 */    \
                        h2[q] = FASTMLP_SHUF2(h4[2 * q], h4[2 * q + 1],                     \
                                              0, 1, 4, 5, 8, 9, 12, 13,                     \
                                              16, 17, 20, 21, 24, 25, 28, 29)               \
                            + FASTMLP_SHUF2(h4[2 * q], h4[2 * q + 1],                       \
                                            2, 3, 6, 7, 10, 11, 14, 15,                     \
                                            18, 19, 22, 23, 26, 27, 30, 31);                \
                    r = (FASTMLP_SHUF2(h2[0], h2[1], 0, 2, 4, 6, 8, 10, 12, 14,             \
                                       16, 18, 20, 22, 24, 26, 28, 30)                      \
                         + FASTMLP_SHUF2(h2[0], h2[1], 1, 3, 5, 7, 9, 11, 13, 15,           \
                                         17, 19, 21, 23, 25, 27, 29, 31)) + tail;           \
                    if (beta == 0)                                                          \
                        FASTMLP_VSTORE(V, ci + j, alpha * r);                               \
                    else                                                                    \
                        FASTMLP_VSTORE(V, ci + j,                                           \
                                       alpha * r + beta * FASTMLP_VLOAD(V, ci + j));        \
                }                                                                           \
            }
#else
#define FASTMLP_SMALL_SUM_VECTOR(T, S, V)                                                   \
        T lanes[FASTMLP_SMALL_LANES];                                                       \
        memcpy(lanes, &acc, sizeof(lanes));                                                 \
        return fastmlp_sum_lanes_##S(lanes) + s;
#define FASTMLP_SMALL_DOT_BLOCKS(T, S, V)
#endif
#else
#define FASTMLP_SMALL_DOT_LANES(T, S, V)                                                    \
        T lanes[FASTMLP_SMALL_LANES];                                                       \
        int q;                                                                              \
        for (q = 0; q < FASTMLP_SMALL_LANES; q++)                                           \
            lanes[q] = a[q] * b[q];                                                         \
        for (p = FASTMLP_SMALL_LANES; p + FASTMLP_SMALL_LANES <= k;                         \
             p += FASTMLP_SMALL_LANES)                                                      \
            for (q = 0; q < FASTMLP_SMALL_LANES; q++)                                       \
                lanes[q] += a[p + q] * b[p + q];                                            \
        for (; p < k; p++)                                                                  \
            s += a[p] * b[p];                                                               \
        return fastmlp_sum_lanes_##S(lanes) + s;
#if defined(__GNUC__) && defined(__AVX__) && (defined(__clang__) || __GNUC__ >= 12)
#define FASTMLP_SMALL_DOT_BLOCKS(T, S, V)                                                   \
            if (!trans_a && k >= FASTMLP_SMALL_LANES)                                       \
                j = fastmlp_dot_blocks_##S(ai, b, ldb, k, n, alpha, beta, ci);
#else
#define FASTMLP_SMALL_DOT_BLOCKS(T, S, V)
#endif
#endif

#if defined(__GNUC__)
/* row i of C, a row vector's columns at a time (four blocks side by side while they fit,
 * so that four independent sums are in flight), each column summing over p in order */
#define FASTMLP_SMALL_ROW_BLOCKS(T, S, V)                                                   \
        for (; j + 4 * FASTMLP_ROW_LANES(T) <= n; j += 4 * FASTMLP_ROW_LANES(T)) {          \
            const T* bj = b + j;                                                            \
            V##_row acc0, acc1, acc2, acc3;                                                 \
            if (beta == 0) {                                                                \
                acc0 = acc1 = acc2 = acc3 = (V##_row){0};                                   \
            } else {                                                                        \
                acc0 = FASTMLP_VLOAD(V##_row, ci + j) * beta;                               \
                acc1 = FASTMLP_VLOAD(V##_row, ci + j + FASTMLP_ROW_LANES(T)) * beta;        \
                acc2 = FASTMLP_VLOAD(V##_row, ci + j + 2 * FASTMLP_ROW_LANES(T)) * beta;    \
                acc3 = FASTMLP_VLOAD(V##_row, ci + j + 3 * FASTMLP_ROW_LANES(T)) * beta;    \
            }                                                                               \
            for (p = 0; p < k; p++) {                                                       \
                T aip = alpha * ai[p * a_p];                                                \
                const T* bp = bj + (ptrdiff_t)p * ldb;                                      \
                acc0 += aip * FASTMLP_VLOAD(V##_row, bp);                                   \
                acc1 += aip * FASTMLP_VLOAD(V##_row, bp + FASTMLP_ROW_LANES(T));            \
                acc2 += aip * FASTMLP_VLOAD(V##_row, bp + 2 * FASTMLP_ROW_LANES(T));        \
                acc3 += aip * FASTMLP_VLOAD(V##_row, bp + 3 * FASTMLP_ROW_LANES(T));        \
            }                                                                               \
            FASTMLP_VSTORE(V##_row, ci + j, acc0);                                          \
            FASTMLP_VSTORE(V##_row, ci + j + FASTMLP_ROW_LANES(T), acc1);                   \
            FASTMLP_VSTORE(V##_row, ci + j + 2 * FASTMLP_ROW_LANES(T), acc2);               \
            FASTMLP_VSTORE(V##_row, ci + j + 3 * FASTMLP_ROW_LANES(T), acc3);               \
        }                                                                                   \
        for (; j + FASTMLP_ROW_LANES(T) <= n; j += FASTMLP_ROW_LANES(T)) {                  \
            V##_row acc;                                                                    \
            if (beta == 0)                                                                  \
                acc = (V##_row){0};                                                         \
            else                                                                            \
                acc = FASTMLP_VLOAD(V##_row, ci + j) * beta;                                \
            for (p = 0; p < k; p++)                                                         \
                acc += (alpha * ai[p * a_p])                                                \
                    * FASTMLP_VLOAD(V##_row, b + (ptrdiff_t)p * ldb + j);                   \
            FASTMLP_VSTORE(V##_row, ci + j, acc);                                           \
        }
#else
#define FASTMLP_SMALL_ROW_BLOCKS(T, S, V)
#endif

#if !defined(__AVX512F__) && defined(__GNUC__) && defined(__AVX__) \
    && (defined(__clang__) || __GNUC__ >= 12)
/* The sixteen-at-once dot products of the AVX-512 path on 8-lane registers (floats):
 * each dot product's 16 running sums in two registers (lanes l and l + 8), added by the
 * same tree, lane-wise the same additions; blocks of 16 columns from j = 0 while 16 are
 * left. Returns the first column not done. */
static inline int fastmlp_dot_blocks_s(const float* ai, const float* b, int ldb, int k,
                                       int n, float alpha, float beta, float* ci)
{
    typedef fastmlp_vs_row v8;
    int j, q, p, whole = k / FASTMLP_SMALL_LANES * FASTMLP_SMALL_LANES;
    for (j = 0; j + FASTMLP_SMALL_LANES <= n; j += FASTMLP_SMALL_LANES) {
        const float* bj = b + (ptrdiff_t)j * ldb;
        v8 h8[16], h4[8], h2[4], r, tail[2] = {{0}, {0}};
        for (q = 0; q < 16; q++) {
            const float* bq = bj + (ptrdiff_t)q * ldb;
            v8 lo = FASTMLP_VLOAD(v8, ai) * FASTMLP_VLOAD(v8, bq);
            v8 hi = FASTMLP_VLOAD(v8, ai + 8) * FASTMLP_VLOAD(v8, bq + 8);
            for (p = FASTMLP_SMALL_LANES; p < whole; p += FASTMLP_SMALL_LANES) {
                lo += FASTMLP_VLOAD(v8, ai + p) * FASTMLP_VLOAD(v8, bq + p);
                hi += FASTMLP_VLOAD(v8, ai + p + 8) * FASTMLP_VLOAD(v8, bq + p + 8);
            }
            if (whole < k) {
                float s = 0;
                for (p = whole; p < k; p++)
                    s += ai[p] * bq[p];
                tail[q / 8][q % 8] = s;
            }
            h8[q] = lo + hi;                            /* lanes l and l + 8 */
        }
        for (q = 0; q < 8; q++)                         /* l and l + 4 of 2q, 2q + 1 */
            h4[q] = FASTMLP_SHUF2(h8[2 * q], h8[2 * q + 1], 0, 1, 2, 3, 8, 9, 10, 11)
                + FASTMLP_SHUF2(h8[2 * q], h8[2 * q + 1], 4, 5, 6, 7, 12, 13, 14, 15);
        for (q = 0; q < 4; q++)                         /* 0 + 2, 1 + 3 of 4q .. 4q + 3 */
            h2[q] = FASTMLP_SHUF2(h4[2 * q], h4[2 * q + 1], 0, 1, 4, 5, 8, 9, 12, 13)
                + FASTMLP_SHUF2(h4[2 * q], h4[2 * q + 1], 2, 3, 6, 7, 10, 11, 14, 15);
        for (q = 0; q < 2; q++) {                       /* dots 8q .. 8q + 7 */
            r = (FASTMLP_SHUF2(h2[2 * q], h2[2 * q + 1], 0, 2, 4, 6, 8, 10, 12, 14)
                 + FASTMLP_SHUF2(h2[2 * q], h2[2 * q + 1], 1, 3, 5, 7, 9, 11, 13, 15))
                + tail[q];
            if (beta == 0)
                FASTMLP_VSTORE(v8, ci + j + 8 * q, alpha * r);
            else
                FASTMLP_VSTORE(v8, ci + j + 8 * q,
                               alpha * r + beta * FASTMLP_VLOAD(v8, ci + j + 8 * q));
        }
    }
    return j;
}

/* doubles: one dot product at a time */
static inline int fastmlp_dot_blocks_d(const double* ai, const double* b, int ldb, int k,
                                       int n, double alpha, double beta, double* ci)
{
    (void)ai; (void)b; (void)ldb; (void)k; (void)n; (void)alpha; (void)beta; (void)ci;
    return 0;
}
#endif

FASTMLP_SMALL_PRODUCTS(float, s, fastmlp_vs)
FASTMLP_SMALL_PRODUCTS(double, d, fastmlp_vd)

#endif
