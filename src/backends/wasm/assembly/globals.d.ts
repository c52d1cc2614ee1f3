/** Build-time constant: 1 when compiled with relaxed SIMD (fused multiply-add), else 0. */
declare const FMA: bool;
