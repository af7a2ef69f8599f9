"""Fused element-wise kernels: activations, losses, bias sums and optimizer updates.

Each kernel follows its twin in :mod:`fastmlp.backend._numpy` line for line (same
formulas, same stable forms, same order of operations on the model's dtype), in a single
pass over memory, without the GIL and without allocation. exp, expm1, log1p, tanh and erf
are the kernels' own, so that the loops calling them vectorize (see "scalar helpers":
within 1.5 ulp of the exact values, float32 tanh within 6; NumPy's and the C library's
functions are within about one). Sums (a loss's terms, a penalty, the clipping norm,
softmax's row sum) are taken in double as eight partial sums in a fixed order (``_sum``),
not in NumPy's order: they agree to rounding. Arrays are row-major ``(rows, cols)`` blocks
given by pointer. The ``*_py`` functions at the end are thin wrappers so the tests can
call each kernel on NumPy arrays.
"""
cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, fabs, fabsf, floor, log, pow, sqrt, sqrtf

import numpy as np

cnp.import_array()

# Constants as C macros, not module variables: a double loop's stores could alias a global
# double, whose load then stays in the loop and keeps it from vectorizing.
cdef extern from *:
    """
    #define FASTMLP_LEAKY_SLOPE 0.01
    #define FASTMLP_ELU_ALPHA 1.0
    #define FASTMLP_SELU_ALPHA 1.6732632423543772848170429916717
    #define FASTMLP_SELU_SCALE 1.0507009873554804934193349852946
    #define FASTMLP_SQRT1_2 0.70710678118654752440
    #define FASTMLP_INV_SQRT_2PI 0.39894228040143267794
    #define FASTMLP_HUBER_DELTA 1.0
    """
    double LEAKY_SLOPE "FASTMLP_LEAKY_SLOPE"    # activations.LEAKY_RELU_SLOPE
    double ELU_ALPHA "FASTMLP_ELU_ALPHA"        # activations.ELU_ALPHA
    double SELU_ALPHA "FASTMLP_SELU_ALPHA"      # activations.SELU_ALPHA
    double SELU_SCALE "FASTMLP_SELU_SCALE"      # activations.SELU_SCALE
    double SQRT1_2 "FASTMLP_SQRT1_2"            # 1 / sqrt(2)
    double INV_SQRT_2PI "FASTMLP_INV_SQRT_2PI"  # 1 / sqrt(2 pi)
    double HUBER_DELTA "FASTMLP_HUBER_DELTA"    # losses.HUBER_DELTA


# --------------------------------------------------------------------------------------
# scalar helpers (float and double)
# --------------------------------------------------------------------------------------
# exp, expm1, log1p and erf in both precisions and tanh in float64 are computed here, not
# by the C library: libm's functions are calls the compiler cannot vectorize, and a sigmoid,
# tanh, elu, softplus or mish layer spent 3-27x the time of a relu layer in them (10,000
# rows through 20-64-64-1, batch 32: 24 ms per epoch with sigmoid against 7.5 with relu in
# float32, 28 with elu, 54 with softplus, 220 with mish; 52 against 12 ms with tanh in
# float64; with these, 10, 6, 13, 15 and 17 ms; a 1024x256 layer's passes, sigmoid float32
# 5.2x faster, float64 1.9x, tanh float64 3.5x, elu 11x and 3.2x:
# benchmarks/test_bench_kernels.py). These are plain arithmetic on each element (the
# exponent of a result built from its bits), which vectorizes in every build, native or
# portable, and computes the same values in both (no fused multiply-adds, see setup.py):
#
# exp(x) = 2^n e^r with n = round(x / ln 2) and r = x - n ln 2, ln 2 in two parts so that
#     n ln2_hi is exact (Cody and Waite's reduction; the float32 split is Cephes'
#     0.693359375 - 2.12194440e-4, the float64 one 0.693145751953125 +
#     1.42860682030941723212e-6); e^r, |r| <= ln(2) / 2, by its Taylor polynomial of degree
#     7 (float32) or 13 (float64), whose truncation error is below half an ulp; 2^n as two
#     factors 2^h 2^(n-h), so that results near overflow and in the subnormal range come
#     out right. n is read from the bits of x / ln 2 + 1.5 2^23 (2^52): adding the shifter
#     rounds to an integer without a float-to-integer conversion. Measured against
#     long-double expl on 2 10^7 points each over the whole range: at most 1.21 ulp
#     (float32) and 1.17 ulp (float64), exact at 0 and at +-inf, NaN kept.
# e^x - 1 for x <= 0 (elu's and selu's negative side; 0 for x > 0, which they discard):
#     2^n (e^r - 1) + (2^n - 1) from the same reduction and polynomial, n <= 0 (x clipped
#     to -60, where the result rounds to -1): no cancellation near 0, where e^x - 1 would
#     lose the digits. At most 1.26 ulp (float32) and 1.35 ulp (float64) against expm1l.
# log(1 + y) for 0 <= y <= 1 (softplus): see fastmlp_log1pf_unit; at most 0.86 ulp against
#     log1pl (softplus 1.55 ulp with exp's error).
# tanh(x) (float64): for |x| < ln(3) / 2, x + x g P(g) / Q(g) with g = x^2 and Cody and
#     Waite's rational for 53-bit precision (W. J. Cody and W. Waite, Software Manual for
#     the Elementary Functions, Prentice-Hall 1980, ch. 13); otherwise sign(x) (1 - 2 /
#     (e^(2|x|) + 1)) with |x| clipped to 22 (tanh(22) rounds to 1). Both forms share one
#     division (numerator and denominator selected). At most 1.47 ulp against tanhl; 0,
#     +-inf and NaN as libm (the sign of a zero is lost to the bias added before anyway).
# erf(x): see FASTMLP_ERF; at most 0.89 ulp (float64) against an 80-bit reference (the C
#     library's 0.98), 0.97 ulp (float32) against math.erf rounded.
# In float32 tanh is the rational of _tanh_f32 below.
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* inlined always: a call left in a loop (the compiler's size limits) keeps it scalar */
    #if defined(__GNUC__)
    #define FASTMLP_INLINE static inline __attribute__((always_inline))
    #elif defined(_MSC_VER)
    #define FASTMLP_INLINE static __forceinline
    #else
    #define FASTMLP_INLINE static CYTHON_INLINE
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
    #define FASTMLP_ERF(T, NAME, EXP)                                            \\
    FASTMLP_INLINE T NAME(T x) {                                                 \\
        T ax = x < 0 ? -x : x;                                                   \\
        T z = x * x;                                                             \\
        T w = (T) 1.0 / z;                                                       \\
        T s = ax - (T) 1.0;                                                      \\
        T n1 = (T) -2.37630166566501626084e-05;                                  \\
        n1 = n1 * z + (T) -5.77027029648944159157e-03;                           \\
        n1 = n1 * z + (T) -2.84817495755985104766e-02;                           \\
        n1 = n1 * z + (T) -3.25042107247001499370e-01;                           \\
        n1 = n1 * z + (T) 1.28379167095512558561e-01;                            \\
        T d1 = (T) -3.96022827877536812320e-06;                                  \\
        d1 = d1 * z + (T) 1.32494738004321644526e-04;                            \\
        d1 = d1 * z + (T) 5.08130628187576562776e-03;                            \\
        d1 = d1 * z + (T) 6.50222499887672944485e-02;                            \\
        d1 = d1 * z + (T) 3.97917223959155352819e-01;                            \\
        d1 = d1 * z + (T) 1.0;                                                   \\
        T n2 = (T) -2.16637559486879084300e-03;                                  \\
        n2 = n2 * s + (T) 3.54783043256182359371e-02;                            \\
        n2 = n2 * s + (T) -1.10894694282396677476e-01;                           \\
        n2 = n2 * s + (T) 3.18346619901161753674e-01;                            \\
        n2 = n2 * s + (T) -3.72207876035701323847e-01;                           \\
        n2 = n2 * s + (T) 4.14856118683748331666e-01;                            \\
        n2 = n2 * s + (T) -2.36211856075265944077e-03;                           \\
        T d2 = (T) 1.19844998467991074170e-02;                                   \\
        d2 = d2 * s + (T) 1.36370839120290507362e-02;                            \\
        d2 = d2 * s + (T) 1.26171219808761642112e-01;                            \\
        d2 = d2 * s + (T) 7.18286544141962662868e-02;                            \\
        d2 = d2 * s + (T) 5.40397917702171048937e-01;                            \\
        d2 = d2 * s + (T) 1.06420880400844228286e-01;                            \\
        d2 = d2 * s + (T) 1.0;                                                   \\
        T na = (T) -9.81432934416914548592e+00;                                  \\
        na = na * w + (T) -8.12874355063065934246e+01;                           \\
        na = na * w + (T) -1.84605092906711035994e+02;                           \\
        na = na * w + (T) -1.62396669462573470355e+02;                           \\
        na = na * w + (T) -6.23753324503260060396e+01;                           \\
        na = na * w + (T) -1.05586262253232909814e+01;                           \\
        na = na * w + (T) -6.93858572707181764372e-01;                           \\
        na = na * w + (T) -9.86494403484714822705e-03;                           \\
        T da = (T) -6.04244152148580987438e-02;                                  \\
        da = da * w + (T) 6.57024977031928170135e+00;                            \\
        da = da * w + (T) 1.08635005541779435134e+02;                            \\
        da = da * w + (T) 4.29008140027567833386e+02;                            \\
        da = da * w + (T) 6.45387271733267880336e+02;                            \\
        da = da * w + (T) 4.34565877475229228821e+02;                            \\
        da = da * w + (T) 1.37657754143519042600e+02;                            \\
        da = da * w + (T) 1.96512716674392571292e+01;                            \\
        da = da * w + (T) 1.0;                                                   \\
        T nb = (T) -4.83519191608651397019e+02;                                  \\
        nb = nb * w + (T) -1.02509513161107724954e+03;                           \\
        nb = nb * w + (T) -6.37566443368389627722e+02;                           \\
        nb = nb * w + (T) -1.60636384855821916062e+02;                           \\
        nb = nb * w + (T) -1.77579549177547519889e+01;                           \\
        nb = nb * w + (T) -7.99283237680523006574e-01;                           \\
        nb = nb * w + (T) -9.86494292470009928597e-03;                           \\
        T db = (T) -2.24409524465858183362e+01;                                  \\
        db = db * w + (T) 4.74528541206955367215e+02;                            \\
        db = db * w + (T) 2.55305040643316442583e+03;                            \\
        db = db * w + (T) 3.19985821950859553908e+03;                            \\
        db = db * w + (T) 1.53672958608443695994e+03;                            \\
        db = db * w + (T) 3.25792512996573918826e+02;                            \\
        db = db * w + (T) 3.03380607434824582924e+01;                            \\
        db = db * w + (T) 1.0;                                                   \\
        T n3 = ax < (T) 2.85714285714285714286 ? na : nb;                        \\
        T d3 = ax < (T) 2.85714285714285714286 ? da : db;                        \\
        T n = ax < (T) 1.25 ? n2 : n3;                                           \\
        T d = ax < (T) 1.25 ? d2 : d3;                                           \\
        T q = (ax < (T) 0.84375 ? n1 : n) / (ax < (T) 0.84375 ? d1 : d);         \\
        T erfc = EXP(-z - (T) 0.5625 + q) / ax;                                  \\
        T large = ax < (T) 6.0 ? (T) 1.0 - erfc : (T) 1.0;                       \\
        large = ax < (T) 1.25 ? (T) 8.45062911510467529297e-01 + q : large;      \\
        large = x < 0 ? -large : large;                                          \\
        T r = ax < (T) 0.84375 ? x + x * q : large;                              \\
        return x != x ? x : r;                                                   \\
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
    """
    float fastmlp_expf(float x) noexcept nogil
    double fastmlp_exp(double x) noexcept nogil
    float fastmlp_expm1f_nonpositive(float x) noexcept nogil
    double fastmlp_expm1_nonpositive(double x) noexcept nogil
    float fastmlp_log1pf_unit(float y) noexcept nogil
    double fastmlp_log1p_unit(double y) noexcept nogil
    double fastmlp_tanh(double x) noexcept nogil
    double fastmlp_erf(double x) noexcept nogil
    float fastmlp_erff(float x) noexcept nogil


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return fastmlp_expf(x)
    else:
        return fastmlp_exp(x)


cdef inline floating _expm1_nonpositive(floating x) noexcept nogil:
    """e^x - 1 for x <= 0, and 0 for x > 0 (for the negative side of elu and selu)."""
    if floating is float:
        return fastmlp_expm1f_nonpositive(x)
    else:
        return fastmlp_expm1_nonpositive(x)


cdef inline floating _log1p_unit(floating y) noexcept nogil:
    """log(1 + y) for 0 <= y <= 1."""
    if floating is float:
        return fastmlp_log1pf_unit(y)
    else:
        return fastmlp_log1p_unit(y)


cdef inline float _tanh_f32(float x) noexcept nogil:
    """tanh in float32 as x P(x^2) / Q(x^2), x clipped to [-9, 9] (tanh(9) rounds to 1).

    The coefficients are a rational fit of least maximum relative error on [0, 9] made
    for fastmlp (reweighted least squares on 220,000 points): 5e-8 in exact arithmetic,
    at most 6 float32 ulps (mean 0.08) evaluated in float32, against ~1 ulp for libm's
    tanhf, which costs ~10 ns a call where this is plain arithmetic that vectorizes.
    NaN propagates; +-inf give +-1.
    """
    cdef float u, p, q
    if x > 9:          # two plain ifs: the compiler turns them into selects
        x = 9
    if x < -9:
        x = -9
    u = x * x
    p = ((((<float> 1.3161715e-08 * u + <float> 2.0455527e-05) * u + <float> 0.0034856636)
          * u + <float> 0.13372497) * u + <float> 1)
    q = ((((<float> 7.693343e-07 * u + <float> 3.2698116e-04) * u + <float> 0.025838668)
          * u + <float> 0.46705812) * u + <float> 1)
    return x * p / q


cdef inline floating _tanh(floating x) noexcept nogil:
    if floating is float:
        return _tanh_f32(x)
    else:
        return fastmlp_tanh(x)


cdef inline floating _sigmoid(floating x) noexcept nogil:
    """1 / (1 + e^-x) from e = exp(-|x|), which never overflows: 1 / (1 + e) for x >= 0,
    e / (1 + e) otherwise (the numerator a select, so that callers' loops vectorize)."""
    cdef floating e = _exp(-_fabs(x))
    cdef floating num = 1 if x >= 0 else e
    return num / (1 + e)


cdef inline floating _softplus(floating x) noexcept nogil:
    """max(x, 0) + log1p(exp(-|x|))."""
    cdef floating m = x if x > 0 else 0
    return m + _log1p_unit(_exp(-_fabs(x)))


cdef inline floating _mish_clip(floating x) noexcept nogil:
    """x clipped to 20 (float32) or 40 (float64), where tanh(softplus(x)) rounds to 1 and
    e^x (e^x + 2), squared, still fits."""
    cdef floating top = 20 if floating is float else 40
    return x if x < top else top


cdef inline floating _erf(floating x) noexcept nogil:
    if floating is float:
        return fastmlp_erff(x)
    else:
        return fastmlp_erf(x)


cdef inline floating _gelu_cdf(floating x) noexcept nogil:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2."""
    return (1 + _erf(x * <floating> SQRT1_2)) / 2


cdef inline floating _clip(floating x, floating low, floating high) noexcept nogil:
    return low if x < low else (high if x > high else x)


cdef enum:
    BLOCK = 64      # terms computed a block at a time apart from their sum (_sum)


cdef inline double _sum(const floating* t, Py_ssize_t n) noexcept nogil:
    """t[0] + ... + t[n - 1] in double, as eight interleaved partial sums (which vectorize)
    added in a fixed order: the same terms always give the same sum."""
    cdef double p[8]
    cdef Py_ssize_t j = 0, q
    for q in range(8):
        p[q] = 0
    while j + 8 <= n:
        for q in range(8):
            p[q] += t[j + q]
        j += 8
    for q in range(n - j):
        p[q] += t[j + q]
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))


# --------------------------------------------------------------------------------------
# forward: Z += b ; A = f(Z)
# --------------------------------------------------------------------------------------
cdef void bias_activation_forward(int kind, floating* z, floating* a, const floating* b,
                                  const floating* alpha, int n_alpha,
                                  Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Z[i, j] += b[j]; A[i, j] = f(Z[i, j]) (softmax: over each row). ``a`` may equal ``z``."""
    cdef Py_ssize_t i, j
    cdef floating v, m, s, slope, e, n
    cdef floating* zr
    cdef floating* ar
    for i in range(rows):
        zr = z + i * cols
        ar = a + i * cols
        if kind == ACT_LINEAR:
            for j in range(cols):
                zr[j] = zr[j] + b[j]
                ar[j] = zr[j]
        elif kind == ACT_SIGMOID:
            for j in range(cols):
                zr[j] = zr[j] + b[j]
                ar[j] = _sigmoid(zr[j])
        elif kind == ACT_TANH:
            for j in range(cols):
                zr[j] = zr[j] + b[j]
                ar[j] = _tanh(zr[j])
        elif kind == ACT_RELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v if v > 0 else 0
        elif kind == ACT_LEAKY_RELU:
            slope = <floating> LEAKY_SLOPE
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v if v > 0 else slope * v
        elif kind == ACT_PRELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                slope = alpha[j] if n_alpha > 1 else alpha[0]
                ar[j] = v if v > 0 else slope * v
        elif kind == ACT_ELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v if v > 0 else <floating> ELU_ALPHA * _expm1_nonpositive(v)
        elif kind == ACT_SOFTPLUS:
            for j in range(cols):
                zr[j] = zr[j] + b[j]
                ar[j] = _softplus(zr[j])
        elif kind == ACT_GELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v * _gelu_cdf(v)
        elif kind == ACT_SILU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v * _sigmoid(v)
        elif kind == ACT_SELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = <floating> SELU_SCALE * (v if v > 0 else
                                                 <floating> SELU_ALPHA * _expm1_nonpositive(v))
        elif kind == ACT_MISH:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                # tanh(softplus(v)) = n / (n + 2) with n = e^v (e^v + 2): one exp and
                # one division instead of exp, log1p and tanh
                e = _exp(_mish_clip(v))
                n = e * (e + 2)
                ar[j] = v * (n / (n + 2))
        elif kind == ACT_HARD_SIGMOID:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = _clip(v + 3, <floating> 0, <floating> 6) / 6
        elif kind == ACT_RELU6:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = _clip(v, <floating> 0, <floating> 6)
        elif kind == ACT_EXPONENTIAL:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = _exp(v)
        elif kind == ACT_SOFTSIGN:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v / (1 + _fabs(v))
        elif kind == ACT_SOFTMAX:
            m = zr[0] + b[0]
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                if v > m:
                    m = v
            for j in range(cols):       # (apart from the sum: this loop vectorizes)
                ar[j] = _exp(zr[j] - m)
            s = <floating> _sum(ar, cols)
            for j in range(cols):
                ar[j] = ar[j] / s


# --------------------------------------------------------------------------------------
# backward: D <- D * f'(Z)  (D holds dA on entry, dZ on exit)
# --------------------------------------------------------------------------------------
cdef void activation_backward(int kind, const floating* z, const floating* a, floating* d,
                              const floating* alpha, int n_alpha, floating* dalpha,
                              Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """dZ = dA * f'(Z) in place; for prelu also dalpha = sum over z <= 0 of dA * z."""
    cdef Py_ssize_t i, j, base
    cdef floating v, s, slope, e, n, w
    if kind == ACT_LINEAR:
        return
    if kind == ACT_PRELU:
        for j in range(n_alpha):
            dalpha[j] = 0
    for i in range(rows):
        base = i * cols
        if kind == ACT_SIGMOID:
            for j in range(cols):
                d[base + j] = d[base + j] * a[base + j] * (1 - a[base + j])
        elif kind == ACT_TANH:
            for j in range(cols):
                d[base + j] = d[base + j] * (1 - a[base + j] * a[base + j])
        elif kind == ACT_RELU:
            # written as a select, not a conditional store, so that it vectorizes
            for j in range(cols):
                d[base + j] = d[base + j] if z[base + j] > 0 else 0
        elif kind == ACT_LEAKY_RELU:
            slope = <floating> LEAKY_SLOPE
            for j in range(cols):
                d[base + j] = d[base + j] if z[base + j] > 0 else slope * d[base + j]
        elif kind == ACT_PRELU:
            for j in range(cols):
                if not z[base + j] > 0:
                    if n_alpha > 1:
                        dalpha[j] += d[base + j] * z[base + j]
                        slope = alpha[j]
                    else:
                        dalpha[0] += d[base + j] * z[base + j]
                        slope = alpha[0]
                    d[base + j] = slope * d[base + j]
        elif kind == ACT_ELU:
            for j in range(cols):
                d[base + j] = (d[base + j] if z[base + j] > 0
                               else d[base + j] * (a[base + j] + <floating> ELU_ALPHA))
        elif kind == ACT_SOFTPLUS:
            for j in range(cols):
                d[base + j] = d[base + j] * _sigmoid(z[base + j])
        elif kind == ACT_GELU:
            for j in range(cols):
                v = z[base + j]
                d[base + j] = d[base + j] * (_gelu_cdf(v) + v * (<floating> INV_SQRT_2PI
                                                                 * _exp(-(v * v) / 2)))
        elif kind == ACT_SILU:
            for j in range(cols):
                v = z[base + j]
                s = _sigmoid(v)
                d[base + j] = d[base + j] * (s * (1 + v * (1 - s)))
        elif kind == ACT_SELU:
            for j in range(cols):
                if z[base + j] > 0:
                    d[base + j] = d[base + j] * <floating> SELU_SCALE
                else:
                    d[base + j] = d[base + j] * (a[base + j] + <floating> SELU_SCALE
                                                 * <floating> SELU_ALPHA)
        elif kind == ACT_MISH:
            for j in range(cols):
                v = z[base + j]
                # t + v sigmoid(v) (1 - t^2) with t = n / w, w = n + 2, n as forward:
                # sigmoid(v) (1 - t^2) = 4 e (1 + e) / w^2, so all of it over one w^2
                v = _mish_clip(v)
                e = _exp(v)
                n = e * (e + 2)
                w = n + 2
                d[base + j] = d[base + j] * ((n * w + 4 * v * e * (1 + e)) / (w * w))
        elif kind == ACT_HARD_SIGMOID:
            for j in range(cols):
                v = z[base + j]
                d[base + j] = d[base + j] / 6 if (v > -3 and v < 3) else 0
        elif kind == ACT_RELU6:
            for j in range(cols):
                v = z[base + j]
                if not (v > 0 and v < 6):
                    d[base + j] = 0
        elif kind == ACT_EXPONENTIAL:
            for j in range(cols):
                d[base + j] = d[base + j] * a[base + j]
        elif kind == ACT_SOFTSIGN:
            for j in range(cols):
                v = 1 / (1 + _fabs(z[base + j]))
                d[base + j] = d[base + j] * (v * v)
        elif kind == ACT_SOFTMAX:
            s = 0
            for j in range(cols):
                s = s + d[base + j] * a[base + j]
            for j in range(cols):
                d[base + j] = a[base + j] * (d[base + j] - s)


# --------------------------------------------------------------------------------------
# losses: mean value, and dL/dZ of the output layer (cross-entropies fused)
# --------------------------------------------------------------------------------------
cdef inline floating _row_max(const floating* z, Py_ssize_t n) noexcept nogil:
    """The largest of z[0] .. z[n - 1] (the log-sum-exp's shift)."""
    cdef floating m = z[0]
    cdef Py_ssize_t j
    for j in range(n):
        if z[j] > m:
            m = z[j]
    return m


cdef double loss_delta(int loss, int out_kind, const floating* z, const floating* a,
                       const floating* y, const floating* w, floating* dz,
                       const floating* alpha, int n_alpha, floating* dalpha,
                       Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t norm_rows) noexcept nogil:
    """Return the batch's loss ``sum_i w_i l_i / rows``; if ``dz`` is not NULL, write dL/dZ.

    ``rows`` rows are processed; the means divide by ``norm_rows`` (the whole batch's
    rows), so that the rows of one batch can be split into blocks (one per thread) whose
    losses add up to the batch's loss and whose dZ rows equal the whole batch's.

    ``w`` holds the row weights, or is NULL for all ones. With ``e = a - y``, per element:
    mse: e^2, dA = 2 e / (rows cols)
    mae: |e|, dA = sign(e) / (rows cols)
    huber: e^2 / 2 if |e| <= delta else delta (|e| - delta / 2), dA = clip(e) / (rows cols)
    hinge: max(1 - y a, 0), dA = -y / (rows cols) where 1 - y a > 0
    then dZ = f'(Z) * w_i dA; fused with their outputs:
    bce: softplus(z) - z y (softplus as the activation computes it),
         dZ = w_i (a - y) / (rows cols)
    poisson: a - y z with a = exp(z) (log link), dZ = w_i (a - y) / (rows cols)
    cce: -sum_j y log_softmax(z) per row, dZ = w_i (a - y) / rows
    """
    cdef Py_ssize_t i, i0, r, q, j, j0, nj, nk, k, stop, size = norm_rows * cols
    cdef Py_ssize_t group = BLOCK // cols if cols <= BLOCK else 1
    cdef double total = 0.0, lse
    cdef floating diff, e, m, s, wi, g
    cdef floating term[BLOCK]
    cdef floating wk[BLOCK]
    cdef floating mk[BLOCK]
    cdef floating n_el = <floating> size
    cdef floating delta = <floating> HUBER_DELTA
    # The terms are computed a block of at most BLOCK elements at a time into ``term``, each
    # times its row's weight (``wk``), and added up by _sum; dZ in a loop of its own. These
    # loops hold no sequential sum, so they vectorize.
    if loss == LOSS_CCE and cols > BLOCK:   # -sum_j y (z - s), s = m + log sum_j e^(z - m)
        for i in range(rows):                  # (m = max_j z): row by row, in parts
            wi = w[i] if w != NULL else 1
            k = i * cols
            m = _row_max(z + k, cols)
            lse = 0.0
            j0 = 0
            while j0 < cols:
                nj = cols - j0 if cols - j0 < BLOCK else BLOCK
                for j in range(nj):
                    term[j] = _exp(z[k + j0 + j] - m)
                lse += _sum(term, nj)
                j0 += nj
            s = m + <floating> log(lse)
            j0 = 0
            while j0 < cols:
                nj = cols - j0 if cols - j0 < BLOCK else BLOCK
                for j in range(nj):
                    term[j] = y[k + j0 + j] * (s - z[k + j0 + j]) * wi
                    if dz != NULL:
                        dz[k + j0 + j] = ((a[k + j0 + j] - y[k + j0 + j]) / <floating> norm_rows
                                          * wi)
                total += _sum(term, nj)
                j0 += nj
        return total / norm_rows
    if loss == LOSS_CCE:                       # the same, as many whole rows at a time as
        i0 = 0                                 # fit in a block (mk: each element's m, then s)
        while i0 < rows:
            r = rows - i0 if rows - i0 < group else group
            k = i0 * cols
            nk = r * cols                      # the group's elements, from k
            for q in range(r):
                m = _row_max(z + k + q * cols, cols)
                for j in range(cols):
                    mk[q * cols + j] = m
            for j in range(nk):
                term[j] = _exp(z[k + j] - mk[j])
            for q in range(r):
                s = mk[q * cols] + <floating> log(_sum(term + q * cols, cols))
                wi = w[i0 + q] if w != NULL else 1
                for j in range(cols):
                    mk[q * cols + j] = s
                    wk[q * cols + j] = wi
            for j in range(nk):
                term[j] = y[k + j] * (mk[j] - z[k + j]) * wk[j]
            total += _sum(term, nk)
            if dz != NULL:
                for j in range(nk):
                    dz[k + j] = (a[k + j] - y[k + j]) / <floating> norm_rows * wk[j]
            i0 += r
        return total / norm_rows
    # the others: as many whole rows at a time as fit in a block (or one row in parts)
    for j in range(BLOCK):
        wk[j] = 1
    i0 = 0
    while i0 < rows:
        r = rows - i0 if rows - i0 < group else group
        if w != NULL:
            for q in range(r):
                for j in range(cols if cols < BLOCK else BLOCK):
                    wk[q * cols + j] = w[i0 + q]
        k = i0 * cols
        stop = (i0 + r) * cols
        while k < stop:
            nj = stop - k if stop - k < BLOCK else BLOCK
            if loss == LOSS_MSE:
                for j in range(nj):
                    diff = a[k + j] - y[k + j]
                    term[j] = diff * diff * wk[j]
            elif loss == LOSS_BCE:
                for j in range(nj):
                    term[j] = (_softplus(z[k + j]) - z[k + j] * y[k + j]) * wk[j]
            elif loss == LOSS_MAE:
                for j in range(nj):
                    term[j] = _fabs(a[k + j] - y[k + j]) * wk[j]
            elif loss == LOSS_HUBER:
                for j in range(nj):
                    e = _fabs(a[k + j] - y[k + j])
                    term[j] = (e * e / 2 if e <= delta else delta * (e - delta / 2)) * wk[j]
            elif loss == LOSS_HINGE:
                for j in range(nj):
                    e = 1 - y[k + j] * a[k + j]
                    term[j] = (e if e > 0 else 0) * wk[j]
            elif loss == LOSS_POISSON:
                for j in range(nj):
                    term[j] = (a[k + j] - y[k + j] * z[k + j]) * wk[j]
            total += _sum(term, nj)
            if dz != NULL:
                if loss == LOSS_MSE:
                    for j in range(nj):
                        dz[k + j] = 2 * (a[k + j] - y[k + j]) / n_el * wk[j]
                elif loss == LOSS_BCE:
                    for j in range(nj):
                        dz[k + j] = (a[k + j] - y[k + j]) / n_el * wk[j]
                elif loss == LOSS_MAE:
                    for j in range(nj):
                        diff = a[k + j] - y[k + j]
                        g = 1 if diff > 0 else (-1 if diff < 0 else 0)
                        dz[k + j] = g / n_el * wk[j]
                elif loss == LOSS_HUBER:
                    for j in range(nj):
                        dz[k + j] = _clip(a[k + j] - y[k + j], -delta, delta) / n_el * wk[j]
                elif loss == LOSS_HINGE:
                    for j in range(nj):
                        e = 1 - y[k + j] * a[k + j]
                        dz[k + j] = (-y[k + j] if e > 0 else 0) / n_el * wk[j]
                elif loss == LOSS_POISSON:
                    for j in range(nj):
                        dz[k + j] = (a[k + j] - y[k + j]) / n_el * wk[j]
            k += nj
        i0 += r
    if dz != NULL and loss != LOSS_BCE and loss != LOSS_POISSON:
        activation_backward(out_kind, z, a, dz, alpha, n_alpha, dalpha, rows, cols)
    return total / size


cdef double regularize(const floating* p, floating* g, Py_ssize_t size, double l1,
                       double l2) noexcept nogil:
    """Return l1 sum|p| + l2 sum p^2; if ``g`` is not NULL, g += l1 sign(p) + 2 l2 p.
    (The sums' terms by blocks, added by _sum, and the gradient in a loop of its own, as
    in loss_delta.)"""
    cdef Py_ssize_t i, j, n
    cdef double s1 = 0.0, s2 = 0.0
    cdef floating c1 = <floating> l1
    cdef floating c2 = <floating> (2 * l2)
    cdef floating v, sg
    cdef floating t1[BLOCK]
    cdef floating t2[BLOCK]
    i = 0
    while i < size:
        n = size - i if size - i < BLOCK else BLOCK
        for j in range(n):
            v = p[i + j]
            t1[j] = _fabs(v)
            t2[j] = v * v
        s1 += _sum(t1, n)
        s2 += _sum(t2, n)
        i += n
    if g != NULL:
        for i in range(size):
            v = p[i]
            sg = 1 if v > 0 else (-1 if v < 0 else 0)
            g[i] = g[i] + (c1 * sg + c2 * v)
    return l1 * s1 + l2 * s2


cdef void multiply(const floating* x, const floating* m, floating* out,
                   Py_ssize_t size) noexcept nogil:
    """out = x * m element-wise (dropout: A * mask forward, dA * mask backward)."""
    cdef Py_ssize_t i
    for i in range(size):
        out[i] = x[i] * m[i]


cdef void column_sums(const floating* d, floating* out, Py_ssize_t rows, Py_ssize_t cols,
                      Py_ssize_t ld) noexcept nogil:
    """out[j] = sum_i d[i, j] (the bias gradient), rows added in order; row stride ``ld``."""
    cdef Py_ssize_t i, j
    cdef const floating* di
    for j in range(cols):
        out[j] = 0
    for i in range(rows):
        di = d + i * ld
        for j in range(cols):
            out[j] += di[j]


# --------------------------------------------------------------------------------------
# finiteness scan (for the validation in fastmlp._validation)
# --------------------------------------------------------------------------------------
cdef bint all_finite(const floating* x, Py_ssize_t size) noexcept nogil:
    """Whether no element is NaN or infinite, like ``np.isfinite(x).all()``.

    ``x - x`` is 0 for a finite value and NaN otherwise; the comparisons are collected in
    blocks (a loop the compiler vectorizes) and the scan stops after the first bad block.
    """
    cdef Py_ssize_t start, i, stop
    cdef int ok = 1
    start = 0
    while start < size:
        stop = start + 4096 if start + 4096 < size else size
        for i in range(start, stop):
            ok = ok & (x[i] - x[i] == <floating> 0)
        if not ok:
            return False
        start = stop
    return True


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define fastmlp_kernels_max_threads() omp_get_max_threads()
    #else
    #define fastmlp_kernels_max_threads() 1
    #endif
    """
    int fastmlp_kernels_max_threads() noexcept nogil


cdef enum:
    SCAN_BLOCK = 1 << 16            # elements per block of a parallel scan
    SCAN_PARALLEL_MIN = 1 << 21     # elements from which a scan uses several threads

#: Threads of the parallel finiteness scan (``fastmlp.set_num_threads`` sets it).
cdef int _scan_threads = fastmlp_kernels_max_threads()


def set_scan_threads(int n):
    global _scan_threads
    _scan_threads = max(n, 1)


cdef bint all_finite_parallel(const floating* x, Py_ssize_t size) noexcept nogil:
    """:c:func:`all_finite` on blocks shared between threads, for large arrays (the
    validation of a training set before each fit is a scan of all of it)."""
    cdef Py_ssize_t blocks = (size + SCAN_BLOCK - 1) // SCAN_BLOCK, k
    cdef Py_ssize_t bad = 0
    if _scan_threads <= 1 or size < SCAN_PARALLEL_MIN:
        return all_finite(x, size)
    for k in prange(blocks, num_threads=_scan_threads, schedule="static"):
        if not all_finite(x + k * SCAN_BLOCK,
                          SCAN_BLOCK if (k + 1) * SCAN_BLOCK <= size else size - k * SCAN_BLOCK):
            bad += 1
    return bad == 0


def finite_status(object arr, object dtype=None, Py_ssize_t n_features=-1):
    """1 if ``arr`` is an aligned, C-contiguous, native float32/float64 ndarray whose values
    are all finite, 0 if it is such an array with a NaN or infinity, -1 if it is not such
    an array (the caller then checks with NumPy).

    With ``dtype`` (and ``n_features``), -1 also unless ``arr`` is a non-empty 2-D array
    of exactly that dtype (with ``n_features`` columns): one call then checks everything
    that makes ``arr`` usable by the engines as it is. Scans without the GIL (for large
    arrays) and allocates nothing.
    """
    cdef cnp.ndarray a
    cdef int typenum
    cdef Py_ssize_t size
    cdef bint ok
    cdef void* data
    if not cnp.PyArray_CheckExact(arr):
        return -1
    a = <cnp.ndarray> arr
    typenum = cnp.PyArray_TYPE(a)
    if ((typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64)
            or not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a)
            or not cnp.PyArray_ISNOTSWAPPED(a)):
        return -1
    if dtype is not None:
        if (not isinstance(dtype, cnp.dtype) or typenum != (<cnp.dtype> dtype).type_num
                or cnp.PyArray_NDIM(a) != 2
                or cnp.PyArray_DIM(a, 0) == 0 or cnp.PyArray_DIM(a, 1) == 0
                or (n_features >= 0 and cnp.PyArray_DIM(a, 1) != n_features)):
            return -1
    size = cnp.PyArray_SIZE(a)
    data = cnp.PyArray_DATA(a)
    if size < 4096:
        ok = (all_finite(<float*> data, size) if typenum == cnp.NPY_FLOAT32
              else all_finite(<double*> data, size))
    else:
        with nogil:
            ok = (all_finite_parallel(<float*> data, size) if typenum == cnp.NPY_FLOAT32
                  else all_finite_parallel(<double*> data, size))
    return 1 if ok else 0


# --------------------------------------------------------------------------------------
# optimizer updates: _numpy.optimizer_step and the *_update rules, line for line
# --------------------------------------------------------------------------------------
cdef inline floating _sqrt(floating x) noexcept nogil:
    """Correctly rounded square root in the array's own precision (as np.sqrt)."""
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating _fabs(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef double learning_rate_at(const double* hyper, double iteration) noexcept nogil:
    """Learning rate after ``iteration`` completed updates (_numpy.learning_rate_at).

    constant: lr ; exponential: lr * r^e ; inverse: lr / (1 + r e)^power, with
    e = iteration / decay_steps (floored with staircase); times (iteration + 1) / w during
    a linear warm-up of w updates (w = hyper[HYPER_WARMUP] > 0).
    """
    cdef double lr = hyper[HYPER_LR]
    cdef int kind = <int> hyper[HYPER_SCHEDULE]
    cdef double e
    if hyper[HYPER_WARMUP] > iteration:
        lr = lr * (iteration + 1) / hyper[HYPER_WARMUP]
    if kind == SCHEDULE_CONSTANT:
        return lr
    e = iteration / hyper[HYPER_DECAY_STEPS]
    if hyper[HYPER_STAIRCASE] != 0:
        e = floor(e)
    if kind == SCHEDULE_EXPONENTIAL:
        return lr * pow(hyper[HYPER_DECAY_RATE], e)
    return lr / pow(1 + hyper[HYPER_DECAY_RATE] * e, hyper[HYPER_POWER])


cdef double squared_norm(const floating* g, Py_ssize_t size) noexcept nogil:
    """sum(g^2), in double (the squares by blocks, added by _sum)."""
    cdef Py_ssize_t i = 0, j, n
    cdef double s = 0
    cdef double t[BLOCK]
    while i < size:
        n = size - i if size - i < BLOCK else BLOCK
        for j in range(n):
            t[j] = <double> g[i + j] * <double> g[i + j]
        s += _sum(t, n)
        i += n
    return s


cdef void optimizer_coefficients(int kind, const double* hyper, double* scalars, double lr,
                                 double* coef) noexcept nogil:
    """The per-step scalars of a rule (float64), once per step, into ``coef[0..3]``.

    ``scalars[0]`` is the step count t, already incremented; NAdam's running product
    ``scalars[1]`` is advanced here (nadam_update's preamble).
    """
    cdef double t = scalars[0], b1, b2, mu, mu_next, psi
    coef[0] = lr
    coef[1] = 0
    coef[2] = 0
    coef[3] = 0
    if kind == OPT_MOMENTUM:
        coef[1] = 1 if t == 1 else 0                         # first step: b <- g
        coef[2] = hyper[HYPER_RULE]                          # b's factor: mu
        if hyper[HYPER_RULE + 3] != 0:                       # velocity_mode "keras":
            coef[2] = hyper[HYPER_RULE] * ((lr if t == 1 else scalars[1]) / lr)
            scalars[1] = lr                                  # mu (lr_prev / lr)
    elif kind == OPT_ADAGRAD:
        coef[0] = lr / (1 + (t - 1) * hyper[HYPER_RULE])     # lr / (1 + (t-1) lr_decay)
    elif kind == OPT_ADAM and hyper[HYPER_RULE + 4] != 0:
        # epsilon_mode "keras": the bias corrections folded into the step size, d = sqrt(v)
        # + eps (a division by 1 is exact, so adam_update's loop serves both forms)
        coef[0] = (lr * sqrt(1 - pow(hyper[HYPER_RULE + 1], t))
                   / (1 - pow(hyper[HYPER_RULE], t)))
        coef[1] = 1
    elif kind == OPT_ADAM:
        coef[0] = lr / (1 - pow(hyper[HYPER_RULE], t))       # step size
        coef[1] = sqrt(1 - pow(hyper[HYPER_RULE + 1], t))    # sqrt(1 - b2^t)
    elif kind == OPT_ADAMAX:
        coef[0] = lr / (1 - pow(hyper[HYPER_RULE], t))
    elif kind == OPT_NADAM:
        b1 = hyper[HYPER_RULE]
        b2 = hyper[HYPER_RULE + 1]
        psi = hyper[HYPER_RULE + 3]
        mu = b1 * (1 - 0.5 * pow(0.96, t * psi))
        mu_next = b1 * (1 - 0.5 * pow(0.96, (t + 1) * psi))
        scalars[1] *= mu
        coef[0] = lr * (1 - mu) / (1 - scalars[1])
        coef[1] = lr * mu_next / (1 - scalars[1] * mu_next)
        coef[2] = 1 - pow(b2, t)                              # bias correction 2


# The update loops below are branch-free so that the compiler can vectorize them: the
# options of a rule (first step, nesterov, centered, momentum, amsgrad) are arguments of a
# ``cdef inline`` loop that each rule calls with constants, one call per combination, so
# every call site compiles to its own specialised loop. Clipping and weight decay are
# applied unconditionally with neutral values when off (scale 1, bounds +-inf, decay 0),
# which leaves every value unchanged (at most the sign of a zero gradient differs).
# Every loop also returns whether all the values it wrote (the parameter and its state)
# are finite: ``v - v == 0`` is true for a finite v only, and the comparisons are combined
# with ``&`` into an integer, a reduction the compiler vectorizes along with the update.
# The training guard needs this after every step (divergence roll-back); checking here,
# on values still in registers, replaces a scan of the whole state after every call.
cdef inline floating _gradient(const floating* g, const floating* p, Py_ssize_t i,
                               floating scale, floating lo, floating hi,
                               floating wd) noexcept nogil:
    """clip_gradients then weight decay: min(max(g_i * scale, lo), hi) + wd * p_i."""
    cdef floating gi = g[i] * scale
    gi = hi if gi > hi else gi
    gi = lo if gi < lo else gi
    return gi + wd * p[i]


cdef int sgd_update(floating lr, floating scale, floating lo, floating hi, floating wd,
                    floating* p, const floating* g, Py_ssize_t size) noexcept nogil:
    """p <- p - lr g."""
    cdef Py_ssize_t i
    cdef floating gi, pi
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        pi = p[i] - lr * gi
        p[i] = pi
        ok = ok & (pi - pi == 0)
    return ok


cdef inline int _momentum_loop(floating lr, floating mu, floating keep, floating scale,
                                floating lo, floating hi, floating wd, floating* p,
                                const floating* g, floating* b, Py_ssize_t size,
                                bint first, bint nesterov, floating rec) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, bi, pi
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        bi = gi if first else rec * b[i] + keep * gi
        b[i] = bi
        pi = p[i] - lr * ((gi + mu * bi) if nesterov else bi)
        p[i] = pi
        ok = ok & ((pi - pi) + (bi - bi) == 0)
    return ok


cdef int momentum_update(const double* hyper, const double* coef, floating scale,
                         floating lo, floating hi, floating wd, floating* p,
                         const floating* g, floating* b, Py_ssize_t size) noexcept nogil:
    """b <- g (first step) or rec b + (1 - dampening) g; p <- p - lr (nesterov ? g + mu b : b)
    (rec = coef[2]: mu, or mu lr_prev / lr with velocity_mode "keras")."""
    cdef floating lr = <floating> coef[0]
    cdef floating mu = <floating> hyper[HYPER_RULE]
    cdef floating keep = <floating> (1 - hyper[HYPER_RULE + 1])
    cdef floating rec = <floating> coef[2]
    cdef bint first = coef[1] != 0
    if hyper[HYPER_RULE + 2] != 0:
        if first:
            return _momentum_loop(lr, mu, keep, scale, lo, hi, wd, p, g, b, size, True, True,
                                  rec)
        return _momentum_loop(lr, mu, keep, scale, lo, hi, wd, p, g, b, size, False, True,
                              rec)
    if first:
        return _momentum_loop(lr, mu, keep, scale, lo, hi, wd, p, g, b, size, True, False,
                              rec)
    return _momentum_loop(lr, mu, keep, scale, lo, hi, wd, p, g, b, size, False, False, rec)


cdef int adagrad_update(const double* hyper, const double* coef, floating scale,
                        floating lo, floating hi, floating wd, floating* p,
                        const floating* g, floating* G, Py_ssize_t size) noexcept nogil:
    """G <- G + g^2 ; p <- p - clr g / (sqrt(G) + eps)."""
    cdef Py_ssize_t i
    cdef floating gi, Gi, pi
    cdef floating clr = <floating> coef[0]
    cdef floating eps = <floating> hyper[HYPER_RULE + 1]
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        Gi = G[i] + gi * gi
        G[i] = Gi
        pi = p[i] - clr * (gi / (_sqrt(Gi) + eps))
        p[i] = pi
        ok = ok & ((pi - pi) + (Gi - Gi) == 0)
    return ok


cdef int adadelta_update(const double* hyper, const double* coef, floating scale,
                         floating lo, floating hi, floating wd, floating* p,
                         const floating* g, floating* v, floating* u,
                         Py_ssize_t size) noexcept nogil:
    """v <- rho v + (1-rho) g^2 ; delta = sqrt(u + eps) / sqrt(v + eps) g ;
    u <- rho u + (1-rho) delta^2 ; p <- p - lr delta."""
    cdef Py_ssize_t i
    cdef floating gi, vi, delta, ui, pi
    cdef floating lr = <floating> coef[0]
    cdef floating rho = <floating> hyper[HYPER_RULE]
    cdef floating one_rho = <floating> (1 - hyper[HYPER_RULE])
    cdef floating eps = <floating> hyper[HYPER_RULE + 1]
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        vi = rho * v[i] + one_rho * gi * gi
        v[i] = vi
        delta = _sqrt(u[i] + eps) / _sqrt(vi + eps) * gi
        ui = rho * u[i] + one_rho * delta * delta
        u[i] = ui
        pi = p[i] - lr * delta
        p[i] = pi
        ok = ok & ((pi - pi) + (vi - vi) + (ui - ui) == 0)
    return ok


cdef inline int _rmsprop_loop(floating lr, floating rho, floating one_rho, floating eps,
                               floating mu, floating scale, floating lo, floating hi,
                               floating wd, floating* p, const floating* g, floating* v,
                               floating* a, floating* b, Py_ssize_t size, bint centered,
                               bint use_momentum) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, vi, ai, d, bi, pi, chk
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        vi = rho * v[i] + one_rho * gi * gi
        v[i] = vi
        chk = vi - vi
        if centered:
            ai = rho * a[i] + one_rho * gi
            a[i] = ai
            chk = chk + (ai - ai)
            d = _sqrt(vi - ai * ai) + eps
        else:
            d = _sqrt(vi) + eps
        if use_momentum:
            bi = mu * b[i] + gi / d
            b[i] = bi
            chk = chk + (bi - bi)
            pi = p[i] - lr * bi
        else:
            pi = p[i] - lr * (gi / d)
        p[i] = pi
        ok = ok & (chk + (pi - pi) == 0)
    return ok


cdef int rmsprop_update(const double* hyper, const double* coef, floating scale,
                        floating lo, floating hi, floating wd, floating* p,
                        const floating* g, floating* v, floating* a, floating* b,
                        Py_ssize_t size) noexcept nogil:
    """v <- rho v + (1-rho) g^2 ; d = sqrt(v) + eps, or centered sqrt(v - a^2) + eps with
    a <- rho a + (1-rho) g ; p <- p - lr g / d, or with momentum b <- mu b + g / d and
    p <- p - lr b. (``a``, ``b`` are NULL when unused.)"""
    cdef floating lr = <floating> coef[0]
    cdef floating rho = <floating> hyper[HYPER_RULE]
    cdef floating one_rho = <floating> (1 - hyper[HYPER_RULE])
    cdef floating eps = <floating> hyper[HYPER_RULE + 1]
    cdef floating mu = <floating> hyper[HYPER_RULE + 2]
    cdef bint use_momentum = hyper[HYPER_RULE + 2] > 0
    if hyper[HYPER_RULE + 3] != 0:
        if use_momentum:
            return _rmsprop_loop(lr, rho, one_rho, eps, mu, scale, lo, hi, wd, p, g, v, a, b,
                                 size, True, True)
        return _rmsprop_loop(lr, rho, one_rho, eps, mu, scale, lo, hi, wd, p, g, v, a, b,
                             size, True, False)
    if use_momentum:
        return _rmsprop_loop(lr, rho, one_rho, eps, mu, scale, lo, hi, wd, p, g, v, a, b,
                             size, False, True)
    return _rmsprop_loop(lr, rho, one_rho, eps, mu, scale, lo, hi, wd, p, g, v, a, b, size,
                         False, False)


cdef inline int _adam_loop(floating step_size, floating bc2_sqrt, floating b1,
                            floating one_b1, floating b2, floating one_b2, floating eps,
                            floating scale, floating lo, floating hi, floating wd,
                            floating* p, const floating* g, floating* m, floating* v,
                            floating* vmax, Py_ssize_t size, bint amsgrad) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, mi, vi, d, pi, chk
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        mi = b1 * m[i] + one_b1 * gi
        m[i] = mi
        vi = b2 * v[i] + one_b2 * gi * gi
        v[i] = vi
        chk = (mi - mi) + (vi - vi)
        if amsgrad:   # (vmax >= v: finite when v is)
            vi = vmax[i] if vmax[i] > vi else vi
            vmax[i] = vi
        d = _sqrt(vi) / bc2_sqrt + eps
        pi = p[i] - step_size * (mi / d)
        p[i] = pi
        ok = ok & (chk + (pi - pi) == 0)
    return ok


cdef int adam_update(const double* hyper, const double* coef, floating scale,
                     floating lo, floating hi, floating wd, floating* p, const floating* g,
                     floating* m, floating* v, floating* vmax, Py_ssize_t size) noexcept nogil:
    """m <- b1 m + (1-b1) g ; v <- b2 v + (1-b2) g^2 ; amsgrad: vmax <- max(vmax, v) ;
    p <- p - step_size m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)."""
    cdef floating step_size = <floating> coef[0]
    cdef floating bc2_sqrt = <floating> coef[1]
    cdef floating b1 = <floating> hyper[HYPER_RULE]
    cdef floating one_b1 = <floating> (1 - hyper[HYPER_RULE])
    cdef floating b2 = <floating> hyper[HYPER_RULE + 1]
    cdef floating one_b2 = <floating> (1 - hyper[HYPER_RULE + 1])
    cdef floating eps = <floating> hyper[HYPER_RULE + 2]
    if hyper[HYPER_RULE + 3] != 0:
        return _adam_loop(step_size, bc2_sqrt, b1, one_b1, b2, one_b2, eps, scale, lo, hi,
                          wd, p, g, m, v, vmax, size, True)
    return _adam_loop(step_size, bc2_sqrt, b1, one_b1, b2, one_b2, eps, scale, lo, hi, wd,
                      p, g, m, v, vmax, size, False)


cdef int adamax_update(const double* hyper, const double* coef, floating scale,
                       floating lo, floating hi, floating wd, floating* p,
                       const floating* g, floating* m, floating* u,
                       Py_ssize_t size) noexcept nogil:
    """m <- b1 m + (1-b1) g ; u <- max(b2 u, |g| + eps) ; p <- p - clr m / u."""
    cdef Py_ssize_t i
    cdef floating gi, mi, ui, ai, pi
    cdef int ok = 1
    cdef floating clr = <floating> coef[0]
    cdef floating b1 = <floating> hyper[HYPER_RULE]
    cdef floating one_b1 = <floating> (1 - hyper[HYPER_RULE])
    cdef floating b2 = <floating> hyper[HYPER_RULE + 1]
    cdef floating eps = <floating> hyper[HYPER_RULE + 2]
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        mi = b1 * m[i] + one_b1 * gi
        m[i] = mi
        ui = b2 * u[i]
        ai = _fabs(gi) + eps
        ui = ai if ai > ui else ui
        u[i] = ui
        pi = p[i] - clr * (mi / ui)
        p[i] = pi
        ok = ok & ((pi - pi) + (mi - mi) + (ui - ui) == 0)
    return ok


cdef int nadam_update(const double* hyper, const double* coef, floating scale,
                      floating lo, floating hi, floating wd, floating* p, const floating* g,
                      floating* m, floating* v, Py_ssize_t size) noexcept nogil:
    """m, v as Adam ; d = sqrt(v / (1 - b2^t)) + eps ;
    p <- p - grad_coef g / d - momentum_coef m / d."""
    cdef Py_ssize_t i
    cdef floating gi, mi, vi, d, pi
    cdef int ok = 1
    cdef floating grad_coef = <floating> coef[0]
    cdef floating momentum_coef = <floating> coef[1]
    cdef floating bc2 = <floating> coef[2]
    cdef floating b1 = <floating> hyper[HYPER_RULE]
    cdef floating one_b1 = <floating> (1 - hyper[HYPER_RULE])
    cdef floating b2 = <floating> hyper[HYPER_RULE + 1]
    cdef floating one_b2 = <floating> (1 - hyper[HYPER_RULE + 1])
    cdef floating eps = <floating> hyper[HYPER_RULE + 2]
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        mi = b1 * m[i] + one_b1 * gi
        m[i] = mi
        vi = b2 * v[i] + one_b2 * gi * gi
        v[i] = vi
        d = _sqrt(vi / bc2) + eps
        pi = p[i] - grad_coef * (gi / d)
        pi = pi - momentum_coef * (mi / d)
        p[i] = pi
        ok = ok & ((pi - pi) + (mi - mi) + (vi - vi) == 0)
    return ok


cdef bint optimizer_update(int kind, const double* hyper, const double* coef, double scale,
                           floating* p, const floating* g, floating* s0, floating* s1,
                           floating* s2, Py_ssize_t size) noexcept nogil:
    """One fused pass of rule ``kind`` over one parameter array and its state ``s0..s2``;
    returns whether every value written (parameter and state) is finite.

    ``coef`` comes from optimizer_coefficients; ``scale`` is the global-norm clipping
    factor of the step (1 when not clipping).
    """
    cdef floating sc = <floating> scale
    cdef floating hi = <floating> hyper[HYPER_CLIPVALUE] if hyper[HYPER_CLIPVALUE] > 0 \
        else <floating> INFINITY
    cdef floating lo = -hi
    cdef floating wd = <floating> hyper[HYPER_WEIGHT_DECAY]
    if kind == OPT_SGD:
        return sgd_update(<floating> coef[0], sc, lo, hi, wd, p, g, size) != 0
    if kind == OPT_MOMENTUM:
        return momentum_update(hyper, coef, sc, lo, hi, wd, p, g, s0, size) != 0
    if kind == OPT_ADAGRAD:
        return adagrad_update(hyper, coef, sc, lo, hi, wd, p, g, s0, size) != 0
    if kind == OPT_ADADELTA:
        return adadelta_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, size) != 0
    if kind == OPT_RMSPROP:
        # slots: v, then a if centered, then b if momentum > 0
        if hyper[HYPER_RULE + 3] != 0:
            return rmsprop_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, s2, size) != 0
        return rmsprop_update(hyper, coef, sc, lo, hi, wd, p, g, s0, <floating*> NULL, s1,
                              size) != 0
    if kind == OPT_ADAM:
        return adam_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, s2, size) != 0
    if kind == OPT_ADAMAX:
        return adamax_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, size) != 0
    if kind == OPT_NADAM:
        return nadam_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, size) != 0
    return True


# --------------------------------------------------------------------------------------
# test twins
# --------------------------------------------------------------------------------------
def exp_py(floating[::1] x):
    """Return exp(x) element-wise, computed as the kernels compute it."""
    out = np.empty_like(np.asarray(x))
    cdef floating[::1] o = out
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        o[i] = _exp(x[i])
    return out


def erf_py(floating[::1] x):
    """Return erf(x) element-wise, computed as the kernels compute it."""
    out = np.empty_like(np.asarray(x))
    cdef floating[::1] o = out
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        o[i] = _erf(x[i])
    return out


def activation_forward_py(int kind, floating[:, ::1] z, floating[::1] alpha=None):
    """Return f(z) (bias 0) computed by the compiled kernel."""
    zc = np.array(z, copy=True)
    cdef floating[:, ::1] zz = zc
    a = np.empty_like(zc)
    cdef floating[:, ::1] aa = a
    cdef floating[::1] b = np.zeros(z.shape[1], dtype=zc.dtype)
    cdef int n_alpha = 0 if alpha is None else alpha.shape[0]
    if z.shape[0] and z.shape[1]:
        bias_activation_forward(kind, &zz[0, 0], &aa[0, 0], &b[0],
                                &alpha[0] if n_alpha else NULL, n_alpha,
                                z.shape[0], z.shape[1])
    return a


def activation_backward_py(int kind, floating[:, ::1] z, floating[:, ::1] a,
                           floating[:, ::1] da, floating[::1] alpha=None):
    """Return (dZ, dalpha) computed by the compiled kernel."""
    d = np.array(da, copy=True)
    cdef floating[:, ::1] dd = d
    cdef int n_alpha = 0 if alpha is None else alpha.shape[0]
    dalpha = np.zeros(max(n_alpha, 1), dtype=d.dtype)
    cdef floating[::1] dal = dalpha
    if z.shape[0] and z.shape[1]:
        activation_backward(kind, &z[0, 0], &a[0, 0], &dd[0, 0],
                            &alpha[0] if n_alpha else NULL, n_alpha, &dal[0],
                            z.shape[0], z.shape[1])
    return d, (dalpha if n_alpha else None)


def loss_delta_py(int loss, int out_kind, floating[:, ::1] z, floating[:, ::1] a,
                  floating[:, ::1] y, floating[::1] w=None):
    """Return (loss, dZ) computed by the compiled kernel (no prelu output)."""
    dz = np.zeros_like(np.asarray(z))
    cdef floating[:, ::1] dd = dz
    cdef double value = loss_delta(loss, out_kind, &z[0, 0], &a[0, 0], &y[0, 0],
                                   &w[0] if w is not None else NULL, &dd[0, 0], NULL, 0,
                                   NULL, z.shape[0], z.shape[1], z.shape[0])
    return value, dz


def regularize_py(floating[::1] p, double l1, double l2):
    """Return (penalty, gradient added to zeros) computed by the compiled kernel."""
    g = np.zeros_like(np.asarray(p))
    cdef floating[::1] gg = g
    cdef double value = regularize(&p[0], &gg[0], p.shape[0], l1, l2)
    return value, g


def learning_rate_at_py(const double[::1] hyper, double iteration):
    """The compiled schedule: learning rate after ``iteration`` completed updates."""
    return learning_rate_at(&hyper[0], iteration)
