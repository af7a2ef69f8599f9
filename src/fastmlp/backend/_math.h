/* Scalar math of the compiled kernels (_kernels.pyx), in float and double.
 *
 * exp, expm1, log1p and erf in both precisions and tanh in float64 are computed here, not
 * by the C library: libm's functions are calls the compiler cannot vectorize, and they made
 * a sigmoid, tanh, elu, softplus or mish layer several times slower than a relu layer
 * (benchmarks/test_bench_kernels.py; figures in benchmarks/RESULTS.md). These are plain
 * arithmetic on each element (the exponent of a result built from its bits), which
 * vectorizes in every build and computes the same values in all (no fused multiply-adds,
 * see setup.py):
 *
 * exp(x) = 2^n e^r with n = round(x / ln 2) and r = x - n ln 2, ln 2 in two parts so that
 *     n ln2_hi is exact (Cody and Waite's reduction; the float32 split is Cephes'
 *     0.693359375 - 2.12194440e-4, the float64 one 0.693145751953125 +
 *     1.42860682030941723212e-6); e^r, |r| <= ln(2) / 2, by its Taylor polynomial of degree
 *     7 (float32) or 13 (float64), whose truncation error is below half an ulp; 2^n as two
 *     factors 2^h 2^(n-h), so that results near overflow and in the subnormal range come
 *     out right. n is read from the bits of x / ln 2 + 1.5 2^23 (2^52): adding the shifter
 *     rounds to an integer without a float-to-integer conversion. Measured against
 *     long-double expl on 2 10^7 points each over the whole range: at most 1.21 ulp
 *     (float32) and 1.17 ulp (float64), exact at 0 and at +-inf, NaN kept.
 * e^x - 1 for x <= 0 (elu's and selu's negative side; 0 for x > 0, which they discard):
 *     2^n (e^r - 1) + (2^n - 1) from the same reduction and polynomial, n <= 0 (x clipped
 *     to -60, where the result rounds to -1): no cancellation near 0, where e^x - 1 would
 *     lose the digits. At most 1.26 ulp (float32) and 1.35 ulp (float64) against expm1l.
 * log(1 + y) for 0 <= y <= 1 (softplus): see fastmlp_log1pf_unit; at most 0.86 ulp against
 *     log1pl (softplus 1.55 ulp with exp's error).
 * tanh(x) (float64): for |x| < ln(3) / 2, x + x g P(g) / Q(g) with g = x^2 and Cody and
 *     Waite's rational for 53-bit precision (W. J. Cody and W. Waite, Software Manual for
 *     the Elementary Functions, Prentice-Hall 1980, ch. 13); otherwise sign(x) (1 - 2 /
 *     (e^(2|x|) + 1)) with |x| clipped to 22 (tanh(22) rounds to 1). Both forms share one
 *     division (numerator and denominator selected). At most 1.47 ulp against tanhl; 0,
 *     +-inf and NaN as libm (the sign of a zero is lost to the bias added before anyway).
 * erf(x): see FASTMLP_ERF; at most 0.89 ulp (float64) against an 80-bit reference (the C
 *     library's 0.98), 0.97 ulp (float32) against math.erf rounded.
 * In float32 tanh is the rational of _tanh_f32 in _kernels.pyx.
 */
#ifndef FASTMLP_MATH_H
#define FASTMLP_MATH_H

/* constants as C macros, not module variables: a double loop's stores could alias a
   global double, whose load then stays in the loop and keeps it from vectorizing. The
   activations' and losses' constants come from _ids.h, which the build generates from
   src/fastmlp/_ids.py. */
#include "_ids.h"
#define FASTMLP_SQRT1_2 0.70710678118654752440
#define FASTMLP_INV_SQRT_2PI 0.39894228040143267794

#include <stdint.h>
#include <string.h>
/* inlined always: a call left in a loop (the compiler's size limits) keeps it scalar */
#if defined(__GNUC__)
#define FASTMLP_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define FASTMLP_INLINE static __forceinline
#else
#define FASTMLP_INLINE static inline
#endif
/* a float's bits as an integer and back (memcpy: the compiler emits no copy) */
FASTMLP_INLINE float fastmlp_float_from_bits(int32_t i) {
    float f; memcpy(&f, &i, 4); return f;
}
FASTMLP_INLINE int32_t fastmlp_float_bits(float f) {
    int32_t i; memcpy(&i, &f, 4); return i;
}
FASTMLP_INLINE double fastmlp_double_from_bits(int64_t i) {
    double f; memcpy(&f, &i, 8); return f;
}
FASTMLP_INLINE int64_t fastmlp_double_bits(double f) {
    int64_t i; memcpy(&i, &f, 8); return i;
}

/* x = n ln 2 + r, |r| <= ln(2) / 2 (x within the callers' clamps): returns r, n in *n */
FASTMLP_INLINE float fastmlp_expf_reduce(float x, int32_t* n) {
    const float shifter = 12582912.0f;                    /* 1.5 * 2^23 */
    float t = x * 1.44269504088896341f + shifter;
    float nf = t - shifter;
    *n = fastmlp_float_bits(t) - fastmlp_float_bits(shifter);
    return (x - nf * 0.693359375f) - nf * -2.12194440e-4f;
}

/* e^r - 1, |r| <= ln(2) / 2: Taylor to degree 7 */
FASTMLP_INLINE float fastmlp_expm1f_poly(float r) {
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    return p * r;
}

FASTMLP_INLINE float fastmlp_expf(float x) {
    int32_t n, m, h;
    float xc = x < -104.0f ? -104.0f : x;                 /* e^-104 rounds to 0 */
    xc = xc > 89.0f ? 89.0f : xc;                         /* e^89 overflows */
    float p = fastmlp_expm1f_poly(fastmlp_expf_reduce(xc, &n)) + 1.0f;
    m = n + 256;                                          /* >= 0 */
    h = m >> 1;
    p = p * fastmlp_float_from_bits((h - 1) << 23);       /* 2^(h - 128) */
    p = p * fastmlp_float_from_bits((m - h - 1) << 23);   /* 2^(m - h - 128) */
    return x != x ? x : p;
}

/* e^x - 1 for x <= 0 (0 for x > 0): 2^n (e^r - 1) + (2^n - 1) */
FASTMLP_INLINE float fastmlp_expm1f_nonpositive(float x) {
    int32_t n;
    float xc = x > 0.0f ? 0.0f : x;
    xc = xc < -60.0f ? -60.0f : xc;                       /* e^-60 - 1 rounds to -1 */
    float q = fastmlp_expm1f_poly(fastmlp_expf_reduce(xc, &n));
    float s = fastmlp_float_from_bits((n + 127) << 23);   /* 2^n, n in [-87, 0] */
    return x != x ? x : s * q + (s - 1.0f);
}

FASTMLP_INLINE double fastmlp_exp_reduce(double x, int64_t* n) {
    const double shifter = 6755399441055744.0;            /* 1.5 * 2^52 */
    double t = x * 1.4426950408889634074 + shifter;
    double nf = t - shifter;
    *n = fastmlp_double_bits(t) - fastmlp_double_bits(shifter);
    return (x - nf * 6.93145751953125e-1) - nf * 1.42860682030941723212e-6;
}

/* e^r - 1, |r| <= ln(2) / 2: Taylor to degree 13 */
FASTMLP_INLINE double fastmlp_expm1_poly(double r) {
    double p = 1.0 / 6227020800.0;                        /* 1 / 13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    return p * r;
}

FASTMLP_INLINE double fastmlp_exp(double x) {
    int64_t n, m, h;
    double xc = x < -746.0 ? -746.0 : x;                  /* e^-746 rounds to 0 */
    xc = xc > 710.0 ? 710.0 : xc;                         /* e^710 overflows */
    double p = fastmlp_expm1_poly(fastmlp_exp_reduce(xc, &n)) + 1.0;
    m = n + 2048;                                         /* >= 0 */
    h = (int64_t) ((uint64_t) m >> 1);
    p = p * fastmlp_double_from_bits((h - 1) << 52);      /* 2^(h - 1024) */
    p = p * fastmlp_double_from_bits((m - h - 1) << 52);  /* 2^(m - h - 1024) */
    return x != x ? x : p;
}

FASTMLP_INLINE double fastmlp_expm1_nonpositive(double x) {
    int64_t n;
    double xc = x > 0.0 ? 0.0 : x;
    xc = xc < -60.0 ? -60.0 : xc;                         /* e^-60 - 1 rounds to -1 */
    double q = fastmlp_expm1_poly(fastmlp_exp_reduce(xc, &n));
    double s = fastmlp_double_from_bits((n + 1023) << 52);  /* 2^n, n in [-87, 0] */
    return x != x ? x : s * q + (s - 1.0);
}

/* log(1 + y) for 0 <= y <= 1 (softplus's log1p(e^-|x|)): u = 1 + y rounded and c =
   y - (u - 1) its rounding error (exact); u = 2^k (1 + f) with k = 0 or 1, 1 + f in
   [sqrt(1/2), sqrt(2)], f exact; log(1 + y) = k ln 2 + log(1 + f) + c / u, and
   log(1 + f) = f - (f^2/2 - s (f^2/2 + R)) with s = f / (2 + f), R = 2 s^2 / 3 +
   2 s^4 / 5 + ... to s^10 (float32) or s^20 (float64): the series of 2 atanh(s) =
   log(1 + f), arranged as fdlibm's log1p arranges it (f exact, the rest small) */
FASTMLP_INLINE float fastmlp_log1pf_unit(float y) {
    float u = 1.0f + y;
    float c = y - (u - 1.0f);
    float k = u > 1.41421356f ? 1.0f : 0.0f;
    float f = (u > 1.41421356f ? 0.5f * u : u) - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float p = 2.0f / 11.0f;
    p = p * z + 2.0f / 9.0f;
    p = p * z + 2.0f / 7.0f;
    p = p * z + 2.0f / 5.0f;
    p = p * z + 2.0f / 3.0f;
    float hfsq = 0.5f * f * f;
    float r = k * 0.693145751953125f                      /* ln 2 in two parts (Cephes) */
              + (f - (hfsq - (s * (hfsq + z * p) + (k * 1.428606765330187045e-06f + c / u))));
    return y != y ? y : r;
}

FASTMLP_INLINE double fastmlp_log1p_unit(double y) {
    double u = 1.0 + y;
    double c = y - (u - 1.0);
    double k = u > 1.4142135623730951 ? 1.0 : 0.0;
    double f = (u > 1.4142135623730951 ? 0.5 * u : u) - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double p = 2.0 / 21.0;
    p = p * z + 2.0 / 19.0;
    p = p * z + 2.0 / 17.0;
    p = p * z + 2.0 / 15.0;
    p = p * z + 2.0 / 13.0;
    p = p * z + 2.0 / 11.0;
    p = p * z + 2.0 / 9.0;
    p = p * z + 2.0 / 7.0;
    p = p * z + 2.0 / 5.0;
    p = p * z + 2.0 / 3.0;
    double hfsq = 0.5 * f * f;
    double r = k * 6.93147180369123816490e-01             /* ln 2 in two parts (fdlibm) */
               + (f - (hfsq - (s * (hfsq + z * p) + (k * 1.90821492927058770002e-10 + c / u))));
    return y != y ? y : r;
}

/* erf(x) in T (float or double) with fdlibm's rational approximations (s_erf.c, Sun
   Microsystems 1993: the coefficients are its pp/qq, pa/qa, ra/sa and rb/sb, rounded
   to T) evaluated for every element and selected: |x| < 0.84375: x + x P(x^2) /
   Q(x^2); < 1.25: erx + P(s) / Q(s), s = |x| - 1; < 6: 1 - e^(-x^2 - 0.5625 + R(w) /
   S(w)) / |x|, w = 1 / x^2, R/S one pair below 1 / 0.35 and another above; from 6 on,
   1 (with x's sign). One division for the four rationals (numerator and denominator
   selected). The erfc term's exponent is one sum here (fdlibm splits x^2 to keep
   erfc's relative error small): erf's absolute error stays below a tenth of its ulp.
   Horner steps written out one per line, in fdlibm's order. */
#define FASTMLP_ERF(T, NAME, EXP)                                            \
FASTMLP_INLINE T NAME(T x) {                                                 \
    T ax = x < 0 ? -x : x;                                                   \
    T z = x * x;                                                             \
    T w = (T) 1.0 / z;                                                       \
    T s = ax - (T) 1.0;                                                      \
    T n1 = (T) -2.37630166566501626084e-05;                                  \
    n1 = n1 * z + (T) -5.77027029648944159157e-03;                           \
    n1 = n1 * z + (T) -2.84817495755985104766e-02;                           \
    n1 = n1 * z + (T) -3.25042107247001499370e-01;                           \
    n1 = n1 * z + (T) 1.28379167095512558561e-01;                            \
    T d1 = (T) -3.96022827877536812320e-06;                                  \
    d1 = d1 * z + (T) 1.32494738004321644526e-04;                            \
    d1 = d1 * z + (T) 5.08130628187576562776e-03;                            \
    d1 = d1 * z + (T) 6.50222499887672944485e-02;                            \
    d1 = d1 * z + (T) 3.97917223959155352819e-01;                            \
    d1 = d1 * z + (T) 1.0;                                                   \
    T n2 = (T) -2.16637559486879084300e-03;                                  \
    n2 = n2 * s + (T) 3.54783043256182359371e-02;                            \
    n2 = n2 * s + (T) -1.10894694282396677476e-01;                           \
    n2 = n2 * s + (T) 3.18346619901161753674e-01;                            \
    n2 = n2 * s + (T) -3.72207876035701323847e-01;                           \
    n2 = n2 * s + (T) 4.14856118683748331666e-01;                            \
    n2 = n2 * s + (T) -2.36211856075265944077e-03;                           \
    T d2 = (T) 1.19844998467991074170e-02;                                   \
    d2 = d2 * s + (T) 1.36370839120290507362e-02;                            \
    d2 = d2 * s + (T) 1.26171219808761642112e-01;                            \
    d2 = d2 * s + (T) 7.18286544141962662868e-02;                            \
    d2 = d2 * s + (T) 5.40397917702171048937e-01;                            \
    d2 = d2 * s + (T) 1.06420880400844228286e-01;                            \
    d2 = d2 * s + (T) 1.0;                                                   \
    T na = (T) -9.81432934416914548592e+00;                                  \
    na = na * w + (T) -8.12874355063065934246e+01;                           \
    na = na * w + (T) -1.84605092906711035994e+02;                           \
    na = na * w + (T) -1.62396669462573470355e+02;                           \
    na = na * w + (T) -6.23753324503260060396e+01;                           \
    na = na * w + (T) -1.05586262253232909814e+01;                           \
    na = na * w + (T) -6.93858572707181764372e-01;                           \
    na = na * w + (T) -9.86494403484714822705e-03;                           \
    T da = (T) -6.04244152148580987438e-02;                                  \
    da = da * w + (T) 6.57024977031928170135e+00;                            \
    da = da * w + (T) 1.08635005541779435134e+02;                            \
    da = da * w + (T) 4.29008140027567833386e+02;                            \
    da = da * w + (T) 6.45387271733267880336e+02;                            \
    da = da * w + (T) 4.34565877475229228821e+02;                            \
    da = da * w + (T) 1.37657754143519042600e+02;                            \
    da = da * w + (T) 1.96512716674392571292e+01;                            \
    da = da * w + (T) 1.0;                                                   \
    T nb = (T) -4.83519191608651397019e+02;                                  \
    nb = nb * w + (T) -1.02509513161107724954e+03;                           \
    nb = nb * w + (T) -6.37566443368389627722e+02;                           \
    nb = nb * w + (T) -1.60636384855821916062e+02;                           \
    nb = nb * w + (T) -1.77579549177547519889e+01;                           \
    nb = nb * w + (T) -7.99283237680523006574e-01;                           \
    nb = nb * w + (T) -9.86494292470009928597e-03;                           \
    T db = (T) -2.24409524465858183362e+01;                                  \
    db = db * w + (T) 4.74528541206955367215e+02;                            \
    db = db * w + (T) 2.55305040643316442583e+03;                            \
    db = db * w + (T) 3.19985821950859553908e+03;                            \
    db = db * w + (T) 1.53672958608443695994e+03;                            \
    db = db * w + (T) 3.25792512996573918826e+02;                            \
    db = db * w + (T) 3.03380607434824582924e+01;                            \
    db = db * w + (T) 1.0;                                                   \
    T n3 = ax < (T) 2.85714285714285714286 ? na : nb;                        \
    T d3 = ax < (T) 2.85714285714285714286 ? da : db;                        \
    T n = ax < (T) 1.25 ? n2 : n3;                                           \
    T d = ax < (T) 1.25 ? d2 : d3;                                           \
    T q = (ax < (T) 0.84375 ? n1 : n) / (ax < (T) 0.84375 ? d1 : d);         \
    T erfc = EXP(-z - (T) 0.5625 + q) / ax;                                  \
    T large = ax < (T) 6.0 ? (T) 1.0 - erfc : (T) 1.0;                       \
    large = ax < (T) 1.25 ? (T) 8.45062911510467529297e-01 + q : large;      \
    large = x < 0 ? -large : large;                                          \
    T r = ax < (T) 0.84375 ? x + x * q : large;                              \
    return x != x ? x : r;                                                   \
}
FASTMLP_ERF(double, fastmlp_erf, fastmlp_exp)
FASTMLP_ERF(float, fastmlp_erff, fastmlp_expf)

FASTMLP_INLINE double fastmlp_tanh(double x) {
    double f = x < 0 ? -x : x;
    double fc = f > 22.0 ? 22.0 : f;
    double g = x * x;
    double pg = ((-0.96437492777225469787e+0 * g - 0.99225929672236083313e+2) * g
                 - 0.16134119023996228053e+4) * g;
    double qg = ((g + 0.11274474380534949335e+3) * g + 0.22337720718962312926e+4) * g
                + 0.48402357071988688686e+4;
    double e = fastmlp_exp(fc + fc);
    int small = f < 0.54930614433405484570;               /* ln(3) / 2 */
    double q = (small ? pg : 2.0) / (small ? qg : e + 1.0);
    double large = x < 0 ? q - 1.0 : 1.0 - q;
    double t = small ? x + x * q : large;
    return x != x ? x : t;
}

#endif /* FASTMLP_MATH_H */
