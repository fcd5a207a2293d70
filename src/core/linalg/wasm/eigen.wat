;; WebAssembly SIMD kernels of the symmetric eigensolver (see eigen-wasm.ts,
;; which drives them): the symmetric matrix-vector product and the rank-2k
;; update of the blocked Householder tridiagonalisation, dot products, and
;; the plane rotations of the QL/QR sweeps applied to a row-major n × k
;; matrix.
;;
;; Addresses are byte offsets in the shared memory of parallel.ts; matrices
;; are row-major float64 with row strides given in bytes. Callers pad rows
;; with zeros to the multiples the kernels require (noted per kernel).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; symv: y[i] += Σ_j A[i, j] v[j] over the symmetric matrix whose upper
  ;; triangle is stored, for the rows i in [r0, r1) (r0, r1 multiples of 4)
  ;; and columns up to ncol (a multiple of 2, ≥ r1). Each stored entry
  ;; A[i, j] (j ≥ i) counts for A[j, i] as well.
  (func (export "symv")
    (param $a i32) (param $lda i32) (param $r0 i32) (param $r1 i32) (param $ncol i32)
    (param $v i32) (param $y i32)
    (local $i i32) (local $p i32) (local $q i32) (local $aa i32) (local $bb i32) (local $t f64)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $jo i32) (local $end i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $vj v128) (local $yj v128)
    (local.set $end (i32.shl (local.get $ncol) (i32.const 3)))
    (local.set $i (local.get $r0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $r1)))
        ;; The 4 × 4 diagonal block, upper part, scalar.
        (local.set $aa (i32.const 0))
        (loop $da
          (local.set $p (i32.add (local.get $a)
            (i32.mul (i32.add (local.get $i) (local.get $aa)) (local.get $lda))))
          (local.set $bb (local.get $aa))
          (loop $db
            (local.set $q (i32.shl (i32.add (local.get $i) (local.get $bb)) (i32.const 3)))
            (local.set $t (f64.load (i32.add (local.get $p) (local.get $q))))
            ;; y[i+aa] += t · v[i+bb]
            (f64.store
              (i32.add (local.get $y) (i32.shl (i32.add (local.get $i) (local.get $aa)) (i32.const 3)))
              (f64.add
                (f64.load (i32.add (local.get $y) (i32.shl (i32.add (local.get $i) (local.get $aa)) (i32.const 3))))
                (f64.mul (local.get $t) (f64.load (i32.add (local.get $v) (local.get $q))))))
            (if (i32.ne (local.get $aa) (local.get $bb))
              (then
                ;; y[i+bb] += t · v[i+aa]
                (f64.store
                  (i32.add (local.get $y) (local.get $q))
                  (f64.add
                    (f64.load (i32.add (local.get $y) (local.get $q)))
                    (f64.mul (local.get $t)
                      (f64.load (i32.add (local.get $v)
                        (i32.shl (i32.add (local.get $i) (local.get $aa)) (i32.const 3)))))))))
            (local.set $bb (i32.add (local.get $bb) (i32.const 1)))
            (br_if $db (i32.lt_u (local.get $bb) (i32.const 4))))
          (local.set $aa (i32.add (local.get $aa) (i32.const 1)))
          (br_if $da (i32.lt_u (local.get $aa) (i32.const 4))))
        ;; Columns i+4 … ncol−1 of the four rows.
        (local.set $p0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $lda)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $lda)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $lda)))
        (local.set $q (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $x0 (v128.load64_splat (local.get $q)))
        (local.set $x1 (v128.load64_splat offset=8 (local.get $q)))
        (local.set $x2 (v128.load64_splat offset=16 (local.get $q)))
        (local.set $x3 (v128.load64_splat offset=24 (local.get $q)))
        (local.set $s0 (f64x2.splat (f64.const 0)))
        (local.set $s1 (f64x2.splat (f64.const 0)))
        (local.set $s2 (f64x2.splat (f64.const 0)))
        (local.set $s3 (f64x2.splat (f64.const 0)))
        (local.set $jo (i32.shl (i32.add (local.get $i) (i32.const 4)) (i32.const 3)))
        (block $jd
          (loop $jl
            (br_if $jd (i32.ge_u (local.get $jo) (local.get $end)))
            (local.set $vj (v128.load (i32.add (local.get $v) (local.get $jo))))
            (local.set $a0 (v128.load (i32.add (local.get $p0) (local.get $jo))))
            (local.set $a1 (v128.load (i32.add (local.get $p1) (local.get $jo))))
            (local.set $a2 (v128.load (i32.add (local.get $p2) (local.get $jo))))
            (local.set $a3 (v128.load (i32.add (local.get $p3) (local.get $jo))))
            (local.set $s0 (f64x2.relaxed_madd (local.get $a0) (local.get $vj) (local.get $s0)))
            (local.set $s1 (f64x2.relaxed_madd (local.get $a1) (local.get $vj) (local.get $s1)))
            (local.set $s2 (f64x2.relaxed_madd (local.get $a2) (local.get $vj) (local.get $s2)))
            (local.set $s3 (f64x2.relaxed_madd (local.get $a3) (local.get $vj) (local.get $s3)))
            (local.set $yj (v128.load (i32.add (local.get $y) (local.get $jo))))
            (local.set $yj (f64x2.relaxed_madd (local.get $a0) (local.get $x0) (local.get $yj)))
            (local.set $yj (f64x2.relaxed_madd (local.get $a1) (local.get $x1) (local.get $yj)))
            (local.set $yj (f64x2.relaxed_madd (local.get $a2) (local.get $x2) (local.get $yj)))
            (local.set $yj (f64x2.relaxed_madd (local.get $a3) (local.get $x3) (local.get $yj)))
            (v128.store (i32.add (local.get $y) (local.get $jo)) (local.get $yj))
            (local.set $jo (i32.add (local.get $jo) (i32.const 16)))
            (br $jl)))
        (local.set $q (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))))
        (f64.store (local.get $q) (f64.add (f64.load (local.get $q))
          (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0)))))
        (f64.store offset=8 (local.get $q) (f64.add (f64.load offset=8 (local.get $q))
          (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1)))))
        (f64.store offset=16 (local.get $q) (f64.add (f64.load offset=16 (local.get $q))
          (f64.add (f64x2.extract_lane 0 (local.get $s2)) (f64x2.extract_lane 1 (local.get $s2)))))
        (f64.store offset=24 (local.get $q) (f64.add (f64.load offset=24 (local.get $q))
          (f64.add (f64x2.extract_lane 0 (local.get $s3)) (f64x2.extract_lane 1 (local.get $s3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; gemm_sub: C[i, c] −= Σ_{kk < kc} U[i, kk] · Z[kk, c] for the rows i in
  ;; [r0, r1) and the columns c in [cs(i), c1), where cs(i) = c0, or with
  ;; $upper, max(c0, i rounded down to a multiple of 8) (the upper triangle
  ;; and a few entries left of the diagonal). c0 and c1 − c0 are multiples of
  ;; 8. U[i, kk] is at u + i·su + kk·sk (bytes), Z[kk, c] at z + kk·ldz + 8c,
  ;; C[i, c] at c + i·ldc + 8c. Two rows at a time where their column ranges
  ;; agree, eight columns per pass.
  (func (export "gemm_sub")
    (param $c i32) (param $ldc i32) (param $r0 i32) (param $r1 i32) (param $c0 i32) (param $c1 i32)
    (param $upper i32) (param $u i32) (param $su i32) (param $sk i32) (param $z i32) (param $ldz i32)
    (param $kc i32)
    (local $i i32) (local $cs i32) (local $cs2 i32) (local $col i32) (local $kk i32)
    (local $pc i32) (local $pu i32) (local $pz i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $acc4 v128) (local $acc5 v128) (local $acc6 v128) (local $acc7 v128)
    (local $u0 v128) (local $u1 v128) (local $z0 v128) (local $z1 v128) (local $z2 v128) (local $z3 v128)
    (local.set $i (local.get $r0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $r1)))
        (local.set $cs (local.get $c0))
        (local.set $cs2 (local.get $c0))
        (if (local.get $upper)
          (then
            (local.set $cs (select (i32.and (local.get $i) (i32.const -8)) (local.get $c0)
              (i32.gt_u (i32.and (local.get $i) (i32.const -8)) (local.get $c0))))
            (local.set $cs2 (select (i32.and (i32.add (local.get $i) (i32.const 1)) (i32.const -8)) (local.get $c0)
              (i32.gt_u (i32.and (i32.add (local.get $i) (i32.const 1)) (i32.const -8)) (local.get $c0))))))
        (if (i32.and
              (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $r1))
              (i32.eq (local.get $cs) (local.get $cs2)))
          (then
            ;; Rows i and i+1.
            (local.set $col (local.get $cs))
            (block $cd
              (loop $cl
                (br_if $cd (i32.ge_u (local.get $col) (local.get $c1)))
                (local.set $pc (i32.add (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc)))
                  (i32.shl (local.get $col) (i32.const 3))))
                (local.set $acc0 (v128.load (local.get $pc)))
                (local.set $acc1 (v128.load offset=16 (local.get $pc)))
                (local.set $acc2 (v128.load offset=32 (local.get $pc)))
                (local.set $acc3 (v128.load offset=48 (local.get $pc)))
                (local.set $acc4 (v128.load (i32.add (local.get $pc) (local.get $ldc))))
                (local.set $acc5 (v128.load offset=16 (i32.add (local.get $pc) (local.get $ldc))))
                (local.set $acc6 (v128.load offset=32 (i32.add (local.get $pc) (local.get $ldc))))
                (local.set $acc7 (v128.load offset=48 (i32.add (local.get $pc) (local.get $ldc))))
                (local.set $pu (i32.add (local.get $u) (i32.mul (local.get $i) (local.get $su))))
                (local.set $pz (i32.add (local.get $z) (i32.shl (local.get $col) (i32.const 3))))
                (local.set $kk (local.get $kc))
                (block $kd
                  (loop $kl
                    (br_if $kd (i32.eqz (local.get $kk)))
                    (local.set $u0 (f64x2.neg (v128.load64_splat (local.get $pu))))
                    (local.set $u1 (f64x2.neg (v128.load64_splat (i32.add (local.get $pu) (local.get $su)))))
                    (local.set $z0 (v128.load (local.get $pz)))
                    (local.set $z1 (v128.load offset=16 (local.get $pz)))
                    (local.set $z2 (v128.load offset=32 (local.get $pz)))
                    (local.set $z3 (v128.load offset=48 (local.get $pz)))
                    (local.set $acc0 (f64x2.relaxed_madd (local.get $u0) (local.get $z0) (local.get $acc0)))
                    (local.set $acc1 (f64x2.relaxed_madd (local.get $u0) (local.get $z1) (local.get $acc1)))
                    (local.set $acc2 (f64x2.relaxed_madd (local.get $u0) (local.get $z2) (local.get $acc2)))
                    (local.set $acc3 (f64x2.relaxed_madd (local.get $u0) (local.get $z3) (local.get $acc3)))
                    (local.set $acc4 (f64x2.relaxed_madd (local.get $u1) (local.get $z0) (local.get $acc4)))
                    (local.set $acc5 (f64x2.relaxed_madd (local.get $u1) (local.get $z1) (local.get $acc5)))
                    (local.set $acc6 (f64x2.relaxed_madd (local.get $u1) (local.get $z2) (local.get $acc6)))
                    (local.set $acc7 (f64x2.relaxed_madd (local.get $u1) (local.get $z3) (local.get $acc7)))
                    (local.set $pu (i32.add (local.get $pu) (local.get $sk)))
                    (local.set $pz (i32.add (local.get $pz) (local.get $ldz)))
                    (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                    (br $kl)))
                (v128.store (local.get $pc) (local.get $acc0))
                (v128.store offset=16 (local.get $pc) (local.get $acc1))
                (v128.store offset=32 (local.get $pc) (local.get $acc2))
                (v128.store offset=48 (local.get $pc) (local.get $acc3))
                (v128.store (i32.add (local.get $pc) (local.get $ldc)) (local.get $acc4))
                (v128.store offset=16 (i32.add (local.get $pc) (local.get $ldc)) (local.get $acc5))
                (v128.store offset=32 (i32.add (local.get $pc) (local.get $ldc)) (local.get $acc6))
                (v128.store offset=48 (i32.add (local.get $pc) (local.get $ldc)) (local.get $acc7))
                (local.set $col (i32.add (local.get $col) (i32.const 8)))
                (br $cl)))
            (local.set $i (i32.add (local.get $i) (i32.const 2))))
          (else
            ;; Row i alone.
            (local.set $col (local.get $cs))
            (block $cd1
              (loop $cl1
                (br_if $cd1 (i32.ge_u (local.get $col) (local.get $c1)))
                (local.set $pc (i32.add (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc)))
                  (i32.shl (local.get $col) (i32.const 3))))
                (local.set $acc0 (v128.load (local.get $pc)))
                (local.set $acc1 (v128.load offset=16 (local.get $pc)))
                (local.set $acc2 (v128.load offset=32 (local.get $pc)))
                (local.set $acc3 (v128.load offset=48 (local.get $pc)))
                (local.set $pu (i32.add (local.get $u) (i32.mul (local.get $i) (local.get $su))))
                (local.set $pz (i32.add (local.get $z) (i32.shl (local.get $col) (i32.const 3))))
                (local.set $kk (local.get $kc))
                (block $kd1
                  (loop $kl1
                    (br_if $kd1 (i32.eqz (local.get $kk)))
                    (local.set $u0 (f64x2.neg (v128.load64_splat (local.get $pu))))
                    (local.set $acc0 (f64x2.relaxed_madd (local.get $u0) (v128.load (local.get $pz)) (local.get $acc0)))
                    (local.set $acc1 (f64x2.relaxed_madd (local.get $u0) (v128.load offset=16 (local.get $pz)) (local.get $acc1)))
                    (local.set $acc2 (f64x2.relaxed_madd (local.get $u0) (v128.load offset=32 (local.get $pz)) (local.get $acc2)))
                    (local.set $acc3 (f64x2.relaxed_madd (local.get $u0) (v128.load offset=48 (local.get $pz)) (local.get $acc3)))
                    (local.set $pu (i32.add (local.get $pu) (local.get $sk)))
                    (local.set $pz (i32.add (local.get $pz) (local.get $ldz)))
                    (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                    (br $kl1)))
                (v128.store (local.get $pc) (local.get $acc0))
                (v128.store offset=16 (local.get $pc) (local.get $acc1))
                (v128.store offset=32 (local.get $pc) (local.get $acc2))
                (v128.store offset=48 (local.get $pc) (local.get $acc3))
                (local.set $col (i32.add (local.get $col) (i32.const 8)))
                (br $cl1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (br $rows))))

  ;; dots: out[kk] = Σ_{c in [c0, c1)} Z[kk, c] · x[c] for kk < kc; Z[kk, c]
  ;; at z + kk·ldz + 8c, x[c] at x + 8c; c1 − c0 a multiple of 4.
  (func (export "dots")
    (param $z i32) (param $ldz i32) (param $kc i32) (param $x i32) (param $c0 i32) (param $c1 i32) (param $out i32)
    (local $kk i32) (local $pz i32) (local $px i32) (local $end i32) (local $s0 v128) (local $s1 v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $c1) (i32.const 3))))
    (block $done
      (loop $kl
        (br_if $done (i32.ge_u (local.get $kk) (local.get $kc)))
        (local.set $pz (i32.add (i32.add (local.get $z) (i32.mul (local.get $kk) (local.get $ldz)))
          (i32.shl (local.get $c0) (i32.const 3))))
        (local.set $px (i32.add (local.get $x) (i32.shl (local.get $c0) (i32.const 3))))
        (local.set $s0 (f64x2.splat (f64.const 0)))
        (local.set $s1 (f64x2.splat (f64.const 0)))
        (block $cd
          (loop $cl
            (br_if $cd (i32.ge_u (local.get $px) (local.get $end)))
            (local.set $s0 (f64x2.relaxed_madd (v128.load (local.get $pz)) (v128.load (local.get $px)) (local.get $s0)))
            (local.set $s1 (f64x2.relaxed_madd (v128.load offset=16 (local.get $pz)) (v128.load offset=16 (local.get $px)) (local.get $s1)))
            (local.set $pz (i32.add (local.get $pz) (i32.const 32)))
            (local.set $px (i32.add (local.get $px) (i32.const 32)))
            (br $cl)))
        (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $kk) (i32.const 3)))
          (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $kl))))

  ;; rot_down: the rotations i = hi−1 … lo of a QL sweep on the rows of the
  ;; n × ncol matrix R (row stride ldr bytes, ncol a multiple of 8): rotation
  ;; i sets (r_i, r_{i+1}) ← (c r_i − s r_{i+1}, s r_i + c r_{i+1}) with
  ;; c = cs[i], s = sn[i]. Eight columns at a time, the running row in registers.
  (func (export "rot_down")
    (param $r i32) (param $ldr i32) (param $ncol i32) (param $cs i32) (param $sn i32) (param $lo i32) (param $hi i32)
    (local $col i32) (local $base i32) (local $i i32) (local $p i32) (local $c v128) (local $s v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $done
      (loop $cols
        (br_if $done (i32.ge_u (local.get $col) (local.get $ncol)))
        (local.set $base (i32.add (local.get $r) (i32.shl (local.get $col) (i32.const 3))))
        (local.set $p (i32.add (local.get $base) (i32.mul (local.get $hi) (local.get $ldr))))
        (local.set $x0 (v128.load (local.get $p)))
        (local.set $x1 (v128.load offset=16 (local.get $p)))
        (local.set $x2 (v128.load offset=32 (local.get $p)))
        (local.set $x3 (v128.load offset=48 (local.get $p)))
        (local.set $i (local.get $hi))
        (block $rd
          (loop $rl
            (br_if $rd (i32.le_s (local.get $i) (local.get $lo)))
            (local.set $i (i32.sub (local.get $i) (i32.const 1)))
            (local.set $c (v128.load64_splat (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $s (v128.load64_splat (i32.add (local.get $sn) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $p (i32.sub (local.get $p) (local.get $ldr)))
            (local.set $a0 (v128.load (local.get $p)))
            (local.set $a1 (v128.load offset=16 (local.get $p)))
            (local.set $a2 (v128.load offset=32 (local.get $p)))
            (local.set $a3 (v128.load offset=48 (local.get $p)))
            (v128.store (i32.add (local.get $p) (local.get $ldr))
              (f64x2.add (f64x2.mul (local.get $s) (local.get $a0)) (f64x2.mul (local.get $c) (local.get $x0))))
            (v128.store offset=16 (i32.add (local.get $p) (local.get $ldr))
              (f64x2.add (f64x2.mul (local.get $s) (local.get $a1)) (f64x2.mul (local.get $c) (local.get $x1))))
            (v128.store offset=32 (i32.add (local.get $p) (local.get $ldr))
              (f64x2.add (f64x2.mul (local.get $s) (local.get $a2)) (f64x2.mul (local.get $c) (local.get $x2))))
            (v128.store offset=48 (i32.add (local.get $p) (local.get $ldr))
              (f64x2.add (f64x2.mul (local.get $s) (local.get $a3)) (f64x2.mul (local.get $c) (local.get $x3))))
            (local.set $x0 (f64x2.sub (f64x2.mul (local.get $c) (local.get $a0)) (f64x2.mul (local.get $s) (local.get $x0))))
            (local.set $x1 (f64x2.sub (f64x2.mul (local.get $c) (local.get $a1)) (f64x2.mul (local.get $s) (local.get $x1))))
            (local.set $x2 (f64x2.sub (f64x2.mul (local.get $c) (local.get $a2)) (f64x2.mul (local.get $s) (local.get $x2))))
            (local.set $x3 (f64x2.sub (f64x2.mul (local.get $c) (local.get $a3)) (f64x2.mul (local.get $s) (local.get $x3))))
            (br $rl)))
        (v128.store (local.get $p) (local.get $x0))
        (v128.store offset=16 (local.get $p) (local.get $x1))
        (v128.store offset=32 (local.get $p) (local.get $x2))
        (v128.store offset=48 (local.get $p) (local.get $x3))
        (local.set $col (i32.add (local.get $col) (i32.const 8)))
        (br $cols))))

  ;; rot_up: the rotations i = lo … hi−1 of a QR sweep, the mirror image:
  ;; (r_i, r_{i+1}) ← (s r_{i+1} + c r_i, c r_{i+1} − s r_i).
  (func (export "rot_up")
    (param $r i32) (param $ldr i32) (param $ncol i32) (param $cs i32) (param $sn i32) (param $lo i32) (param $hi i32)
    (local $col i32) (local $base i32) (local $i i32) (local $p i32) (local $c v128) (local $s v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $done
      (loop $cols
        (br_if $done (i32.ge_u (local.get $col) (local.get $ncol)))
        (local.set $base (i32.add (local.get $r) (i32.shl (local.get $col) (i32.const 3))))
        (local.set $p (i32.add (local.get $base) (i32.mul (local.get $lo) (local.get $ldr))))
        (local.set $x0 (v128.load (local.get $p)))
        (local.set $x1 (v128.load offset=16 (local.get $p)))
        (local.set $x2 (v128.load offset=32 (local.get $p)))
        (local.set $x3 (v128.load offset=48 (local.get $p)))
        (local.set $i (local.get $lo))
        (block $rd
          (loop $rl
            (br_if $rd (i32.ge_s (local.get $i) (local.get $hi)))
            (local.set $c (v128.load64_splat (i32.add (local.get $cs) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $s (v128.load64_splat (i32.add (local.get $sn) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $a0 (v128.load (i32.add (local.get $p) (local.get $ldr))))
            (local.set $a1 (v128.load offset=16 (i32.add (local.get $p) (local.get $ldr))))
            (local.set $a2 (v128.load offset=32 (i32.add (local.get $p) (local.get $ldr))))
            (local.set $a3 (v128.load offset=48 (i32.add (local.get $p) (local.get $ldr))))
            (v128.store (local.get $p)
              (f64x2.add (f64x2.mul (local.get $s) (local.get $a0)) (f64x2.mul (local.get $c) (local.get $x0))))
            (v128.store offset=16 (local.get $p)
              (f64x2.add (f64x2.mul (local.get $s) (local.get $a1)) (f64x2.mul (local.get $c) (local.get $x1))))
            (v128.store offset=32 (local.get $p)
              (f64x2.add (f64x2.mul (local.get $s) (local.get $a2)) (f64x2.mul (local.get $c) (local.get $x2))))
            (v128.store offset=48 (local.get $p)
              (f64x2.add (f64x2.mul (local.get $s) (local.get $a3)) (f64x2.mul (local.get $c) (local.get $x3))))
            (local.set $x0 (f64x2.sub (f64x2.mul (local.get $c) (local.get $a0)) (f64x2.mul (local.get $s) (local.get $x0))))
            (local.set $x1 (f64x2.sub (f64x2.mul (local.get $c) (local.get $a1)) (f64x2.mul (local.get $s) (local.get $x1))))
            (local.set $x2 (f64x2.sub (f64x2.mul (local.get $c) (local.get $a2)) (f64x2.mul (local.get $s) (local.get $x2))))
            (local.set $x3 (f64x2.sub (f64x2.mul (local.get $c) (local.get $a3)) (f64x2.mul (local.get $s) (local.get $x3))))
            (local.set $p (i32.add (local.get $p) (local.get $ldr)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rl)))
        (v128.store (local.get $p) (local.get $x0))
        (v128.store offset=16 (local.get $p) (local.get $x1))
        (v128.store offset=32 (local.get $p) (local.get $x2))
        (v128.store offset=48 (local.get $p) (local.get $x3))
        (local.set $col (i32.add (local.get $col) (i32.const 8)))
        (br $cols))))
)
