/* A probe of the headroom left by the BLAS that SciPy ships, on the products fastmlp's
 * team mode runs per thread: a plain AVX-512 single-precision GEMM (register-blocked
 * 12x32 tiles of row-major C, panels of B copied to contiguous memory, panels of A
 * copied where their stride would alias in L1) timed against sgemm from
 * scipy.linalg.cython_blas on the same buffers. Measurement code for
 * studies/gemm_headroom/gemm_headroom.py, not part of the package: see the design proposal in
 * issue 4's notes.
 *
 * C (M x N, row-major) = op(A) op(B); op(A) = A (M x K) or A^T (A is K x M), op(B) = B
 * (K x N) or B^T (B is N x K).
 */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef long idx;
typedef void (*sgemm_fn)(char *, char *, int *, int *, int *, float *, float *, int *,
                         float *, int *, float *, float *, int *);

#ifndef KC
#define KC 256   /* depth of one pass: a 256 x 32 panel of B is 32 KiB (L1) */
#endif
#define NR 32    /* columns of a tile: two 16-lane vectors */
#define MR 12    /* rows of a tile: 24 accumulators of the 32 vector registers */

static inline __attribute__((always_inline)) void
tile(const int mr, const int two, const int a_by_k, idx kc, const float *a, idx lda, const float *b,
     float *c, idx ldc, int accumulate, __mmask16 m0, __mmask16 m1)
{
    /* c[i][0:32] (+)= sum_k a(i, k) b[k][0:32]; a(i, k) = a[k*lda + i] (a_by_k) or
     * a[i*lda + k]; b is a contiguous kc x 32 panel. */
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();   /* unused (and dropped) when !two */
    }
    for (idx k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b + k * NR);
        __m512 b1 = two ? _mm512_load_ps(b + k * NR + 16) : b0;
#pragma GCC unroll 12
        for (int i = 0; i < mr; i++) {
            __m512 x = _mm512_set1_ps(a_by_k ? a[k * lda + i] : a[i * lda + k]);
            c0[i] = _mm512_fmadd_ps(x, b0, c0[i]);
            if (two) c1[i] = _mm512_fmadd_ps(x, b1, c1[i]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        if (accumulate) c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(m0, ci));
        _mm512_mask_storeu_ps(ci, m0, c0[i]);
        if (two) {
            if (accumulate) c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(m1, ci + 16));
            _mm512_mask_storeu_ps(ci + 16, m1, c1[i]);
        }
    }
}

/* The full 12 x 32 tile as functions of their own: inlined into the loops below, GCC ran
 * short of vector registers and kept one of B's vectors on the stack. */
static __attribute__((noinline)) void
full_tile_packed(idx kc, const float *a, const float *b, float *c, idx ldc, int accumulate)
{
    tile(MR, 1, 1, kc, a, MR, b, c, ldc, accumulate, 0xFFFF, 0xFFFF);
}

static __attribute__((noinline)) void
full_tile_rows(idx kc, const float *a, idx lda, const float *b, float *c, idx ldc,
               int accumulate)
{
    tile(MR, 1, 0, kc, a, lda, b, c, ldc, accumulate, 0xFFFF, 0xFFFF);
}

#define TILE(BYK, MRV) tile(MRV, two, BYK, kc, a, la, bp, c, ldc, acc, m0, m1)
#define TILES(BYK)                                                                      \
    if (mr == MR && nr == NR) {                                                         \
        if (BYK) full_tile_packed(kc, a, bp, c, ldc, acc);                              \
        else full_tile_rows(kc, a, la, bp, c, ldc, acc);                                \
    } else if (two) { TILES_(BYK, 1) } else { TILES_(BYK, 0) }
#define TILES_(BYK, two)                                                                \
    switch (mr) {                                                                       \
    case 12: TILE(BYK, 12); break; case 11: TILE(BYK, 11); break;                       \
    case 10: TILE(BYK, 10); break; case 9: TILE(BYK, 9); break;                         \
    case 8: TILE(BYK, 8); break; case 7: TILE(BYK, 7); break;                           \
    case 6: TILE(BYK, 6); break; case 5: TILE(BYK, 5); break;                           \
    case 4: TILE(BYK, 4); break; case 3: TILE(BYK, 3); break;                           \
    case 2: TILE(BYK, 2); break; default: TILE(BYK, 1); break;                          \
    }

static __thread float *a_pack = NULL;
static __thread idx a_cap = 0;
static __thread float b_pack[KC * NR] __attribute__((aligned(64)));

void probe_gemm(int ta, int tb, idx M, idx N, idx K, const float *A, idx lda,
                const float *B, idx ldb, float *C, idx ldc)
{
    /* A's rows at a stride of a multiple of 2 KiB map to few L1 sets: copy them */
    if (K == 0) {   /* an empty sum */
        for (idx i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    int pack_a = ta || (lda % 512 == 0);
    if (pack_a && a_cap < M * KC) {
        free(a_pack);
        a_cap = M * KC;
        a_pack = aligned_alloc(64, (size_t)a_cap * sizeof(float) + 64);
    }
    for (idx pc = 0; pc < K; pc += KC) {
        idx kc = K - pc < KC ? K - pc : KC;
        int acc = pc > 0;
        if (pack_a) {  /* panels of MR rows, k-major */
            for (idx ir = 0; ir < M; ir += MR) {
                int mr = M - ir < MR ? (int)(M - ir) : MR;
                float *dst = a_pack + ir * kc;
                if (ta) {
                    __mmask16 mm = (__mmask16)((1u << mr) - 1);
                    const float *src = A + pc * lda + ir;
                    for (idx k = 0; k < kc; k++)
                        _mm512_mask_storeu_ps(dst + k * mr, mm,
                                              _mm512_maskz_loadu_ps(mm, src + k * lda));
                } else {   /* a gather of the panel's mr rows per k */
                    __mmask16 mm = (__mmask16)((1u << mr) - 1);
                    __m512i at = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8,
                                                    9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)lda));
                    const float *src = A + ir * lda + pc;
                    for (idx k = 0; k < kc; k++)
                        _mm512_mask_storeu_ps(dst + k * mr, mm, _mm512_mask_i32gather_ps(
                            _mm512_setzero_ps(), mm, at, src + k, 4));
                }
            }
        }
        for (idx jr = 0; jr < N; jr += NR) {
            idx nr = N - jr < NR ? N - jr : NR;
            __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
            __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
            const float *bp = b_pack;
            int two = nr > 16;   /* a one-vector tile for the last 16 columns or fewer */
            if (!tb) {
                const float *src = B + pc * ldb + jr;
                for (idx k = 0; k < kc; k++) {
                    _mm512_store_ps(b_pack + k * NR, _mm512_maskz_loadu_ps(m0, src + k * ldb));
                    _mm512_store_ps(b_pack + k * NR + 16,
                                    _mm512_maskz_loadu_ps(m1, src + k * ldb + 16));
                }
            } else {   /* op(B)[k][j] = B[j][k]: transpose 16 columns at a time by gathers */
                __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8,
                                                  9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)ldb));
                const float *src = B + jr * ldb + pc;
                for (idx k = 0; k < kc; k++) {
                    _mm512_store_ps(b_pack + k * NR,
                                    _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m0, rows, src + k, 4));
                    _mm512_store_ps(b_pack + k * NR + 16,
                                    _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m1, rows,
                                                             src + 16 * ldb + k, 4));
                }
            }
            for (idx ir = 0; ir < M; ir += MR) {
                int mr = M - ir < MR ? (int)(M - ir) : MR;
                float *c = C + ir * ldc + jr;
                if (pack_a) {
                    const float *a = a_pack + ir * kc;
                    idx la = mr;
                    TILES(1)
                } else {
                    const float *a = A + ir * lda + pc;
                    idx la = lda;
                    TILES(0)
                }
            }
        }
    }
}

static void blas_gemm(sgemm_fn f, int ta, int tb, idx M, idx N, idx K, const float *A,
                      idx lda, const float *B, idx ldb, float *C, idx ldc)
{
    /* row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T */
    int m = (int)N, n = (int)M, k = (int)K, la = (int)lda, lb = (int)ldb, lc = (int)ldc;
    float one = 1.0f, zero = 0.0f;
    f(tb ? "T" : "N", ta ? "T" : "N", &m, &n, &k, &one, (float *)B, &lb, (float *)A, &la,
      &zero, C, &lc);
}

typedef struct { float *A, *B, *C; idx lda, ldb; } operands;

static operands make(int ta, int tb, idx M, idx N, idx K, idx lda, idx ldb, unsigned seed)
{
    operands o;
    idx na = ta ? K * lda : M * lda, nb = tb ? N * ldb : K * ldb;
    o.A = aligned_alloc(64, (size_t)na * 4 + 64);
    o.B = aligned_alloc(64, (size_t)nb * 4 + 64);
    o.C = aligned_alloc(64, (size_t)(M * N) * 4 + 64);
    o.lda = lda;
    o.ldb = ldb;
    for (idx i = 0; i < na; i++) o.A[i] = (float)rand_r(&seed) / RAND_MAX - 0.5f;
    for (idx i = 0; i < nb; i++) o.B[i] = (float)rand_r(&seed) / RAND_MAX - 0.5f;
    memset(o.C, 0, (size_t)(M * N) * 4);
    return o;
}

static void release(operands o) { free(o.A); free(o.B); free(o.C); }

/* Seconds per product, each of `threads` threads running `reps` products on its own
 * operands at once (wall time of the slowest / reps); blas NULL: probe_gemm. */
double probe_time(void *blas, int ta, int tb, idx M, idx N, idx K, idx lda, idx ldb,
                  int reps, int threads)
{
    double worst = 0.0;
#pragma omp parallel num_threads(threads) reduction(max : worst)
    {
        operands o = make(ta, tb, M, N, K, lda, ldb, 7u + (unsigned)omp_get_thread_num());
#pragma omp barrier
        double t0 = omp_get_wtime();
        for (int r = 0; r < reps; r++) {
            if (blas)
                blas_gemm((sgemm_fn)blas, ta, tb, M, N, K, o.A, o.lda, o.B, o.ldb, o.C, N);
            else
                probe_gemm(ta, tb, M, N, K, o.A, o.lda, o.B, o.ldb, o.C, N);
        }
        worst = (omp_get_wtime() - t0) / reps;
        release(o);
    }
    return worst;
}

/* Largest |probe - blas| relative to the largest |blas| entry, on one product. */
double probe_error(void *blas, int ta, int tb, idx M, idx N, idx K, idx lda, idx ldb)
{
    operands o = make(ta, tb, M, N, K, lda, ldb, 3u);
    float *ref = malloc((size_t)(M * N) * 4);
    blas_gemm((sgemm_fn)blas, ta, tb, M, N, K, o.A, o.lda, o.B, o.ldb, ref, N);
    probe_gemm(ta, tb, M, N, K, o.A, o.lda, o.B, o.ldb, o.C, N);
    double err = 0.0, big = 0.0;
    for (idx i = 0; i < M * N; i++) {
        err = fmax(err, fabs((double)o.C[i] - ref[i]));
        big = fmax(big, fabs((double)ref[i]));
    }
    free(ref);
    release(o);
    return err / (big > 0 ? big : 1.0);
}
