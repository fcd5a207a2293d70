;; Gram-matrix kernels of rank-models: G += Pᵀ P for a packed panel P, in
;; float64 with f64x2 SIMD.
;;
;; Assembled by scripts/build-wasm.mjs into two variants:
;;   - "plain": every (f64x2.relaxed_madd a b c) below is rewritten to
;;     (f64x2.add (f64x2.mul a b) c), i.e. standard SIMD only, rounding twice;
;;   - "fma": kept as relaxed-SIMD multiply-add (needs V8's relaxed SIMD).
;; The runtime chooses one variant per process, so every Gram of a run,
;; whatever the thread count, uses the same arithmetic.
;;
;; Layout (all addresses in bytes, all matrices row-major):
;;   A panel of `len` vectors of dimension m (m a multiple of 4) is packed as
;;   m/4 groups; group g holds len × 4 float64, element [r][k] at
;;   P + g·len·32 + r·32 + k·8 = vector r, coordinate 4g + k.
;;   G is an m × m float64 matrix with a row stride of `ldg` bytes. Only the
;;   4 × 4 tiles (ig, jg) with ig ≤ jg are written (diagonal tiles in full).
;;
;; The memory is shared: the main thread and the worker threads each run an
;; instance of this module on the same memory, on disjoint column ranges of G.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; --------------------------------------------------------------------
  ;; Packing.

  ;; pack_f32: `len` rows of float32, row stride m·4 bytes at $src, into
  ;; groups at $dst (see above). If $colsum ≠ 0, colsum[j] (m float64) +=
  ;; Σ_r row_r[j], each column summed over this panel first.
  (func (export "pack_f32")
    (param $src i32) (param $dst i32) (param $len i32) (param $m i32) (param $colsum i32)
    (local $g i32) (local $ps i32) (local $pd i32) (local $end i32) (local $rs i32)
    (local $x v128) (local $lo v128) (local $hi v128) (local $s0 v128) (local $s1 v128)
    (local.set $rs (i32.shl (local.get $m) (i32.const 2)))
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (i32.shl (local.get $g) (i32.const 2)) (local.get $m)))
        (local.set $ps (i32.add (local.get $src) (i32.shl (local.get $g) (i32.const 4))))
        (local.set $pd (i32.add (local.get $dst)
          (i32.mul (local.get $g) (i32.shl (local.get $len) (i32.const 5)))))
        (local.set $end (i32.add (local.get $pd) (i32.shl (local.get $len) (i32.const 5))))
        (local.set $s0 (v128.const i64x2 0 0))
        (local.set $s1 (v128.const i64x2 0 0))
        (loop $rows
          (local.set $x (v128.load align=4 (local.get $ps)))
          (local.set $lo (f64x2.promote_low_f32x4 (local.get $x)))
          (local.set $hi (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $x) (local.get $x))))
          (v128.store (local.get $pd) (local.get $lo))
          (v128.store offset=16 (local.get $pd) (local.get $hi))
          (local.set $s0 (f64x2.add (local.get $s0) (local.get $lo)))
          (local.set $s1 (f64x2.add (local.get $s1) (local.get $hi)))
          (local.set $ps (i32.add (local.get $ps) (local.get $rs)))
          (local.set $pd (i32.add (local.get $pd) (i32.const 32)))
          (br_if $rows (i32.lt_u (local.get $pd) (local.get $end))))
        (if (local.get $colsum)
          (then
            (local.set $ps (i32.add (local.get $colsum) (i32.shl (local.get $g) (i32.const 5))))
            (v128.store (local.get $ps) (f64x2.add (v128.load (local.get $ps)) (local.get $s0)))
            (v128.store offset=16 (local.get $ps)
              (f64x2.add (v128.load offset=16 (local.get $ps)) (local.get $s1)))))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groups))))

  ;; pack_f64: as pack_f32 for float64 rows (row stride m·8 bytes).
  (func (export "pack_f64")
    (param $src i32) (param $dst i32) (param $len i32) (param $m i32) (param $colsum i32)
    (local $g i32) (local $ps i32) (local $pd i32) (local $end i32) (local $rs i32)
    (local $lo v128) (local $hi v128) (local $s0 v128) (local $s1 v128)
    (local.set $rs (i32.shl (local.get $m) (i32.const 3)))
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (i32.shl (local.get $g) (i32.const 2)) (local.get $m)))
        (local.set $ps (i32.add (local.get $src) (i32.shl (local.get $g) (i32.const 5))))
        (local.set $pd (i32.add (local.get $dst)
          (i32.mul (local.get $g) (i32.shl (local.get $len) (i32.const 5)))))
        (local.set $end (i32.add (local.get $pd) (i32.shl (local.get $len) (i32.const 5))))
        (local.set $s0 (v128.const i64x2 0 0))
        (local.set $s1 (v128.const i64x2 0 0))
        (loop $rows
          (local.set $lo (v128.load align=8 (local.get $ps)))
          (local.set $hi (v128.load offset=16 align=8 (local.get $ps)))
          (v128.store (local.get $pd) (local.get $lo))
          (v128.store offset=16 (local.get $pd) (local.get $hi))
          (local.set $s0 (f64x2.add (local.get $s0) (local.get $lo)))
          (local.set $s1 (f64x2.add (local.get $s1) (local.get $hi)))
          (local.set $ps (i32.add (local.get $ps) (local.get $rs)))
          (local.set $pd (i32.add (local.get $pd) (i32.const 32)))
          (br_if $rows (i32.lt_u (local.get $pd) (local.get $end))))
        (if (local.get $colsum)
          (then
            (local.set $ps (i32.add (local.get $colsum) (i32.shl (local.get $g) (i32.const 5))))
            (v128.store (local.get $ps) (f64x2.add (v128.load (local.get $ps)) (local.get $s0)))
            (v128.store offset=16 (local.get $ps)
              (f64x2.add (v128.load offset=16 (local.get $ps)) (local.get $s1)))))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groups))))

  ;; pack_t_f32: the transpose. $src holds m rows (m a multiple of 4) of `len`
  ;; float32 each (row stride len·4 bytes); vector r of the panel is column r
  ;; of $src: P[g][r][k] = src[4g + k][r].
  (func (export "pack_t_f32")
    (param $src i32) (param $dst i32) (param $len i32) (param $m i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $pd i32) (local $end i32) (local $rs i32) (local $g i32)
    (local.set $rs (i32.shl (local.get $len) (i32.const 2)))
    (local.set $pd (local.get $dst))
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (i32.shl (local.get $g) (i32.const 2)) (local.get $m)))
        (local.set $p0 (i32.add (local.get $src)
          (i32.mul (i32.shl (local.get $g) (i32.const 2)) (local.get $rs))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $rs)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $rs)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $rs)))
        (local.set $end (i32.add (local.get $pd) (i32.shl (local.get $len) (i32.const 5))))
        (loop $cols
          (f64.store (local.get $pd) (f64.promote_f32 (f32.load (local.get $p0))))
          (f64.store offset=8 (local.get $pd) (f64.promote_f32 (f32.load (local.get $p1))))
          (f64.store offset=16 (local.get $pd) (f64.promote_f32 (f32.load (local.get $p2))))
          (f64.store offset=24 (local.get $pd) (f64.promote_f32 (f32.load (local.get $p3))))
          (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
          (local.set $p1 (i32.add (local.get $p1) (i32.const 4)))
          (local.set $p2 (i32.add (local.get $p2) (i32.const 4)))
          (local.set $p3 (i32.add (local.get $p3) (i32.const 4)))
          (local.set $pd (i32.add (local.get $pd) (i32.const 32)))
          (br_if $cols (i32.lt_u (local.get $pd) (local.get $end))))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groups))))

  ;; pack_t_f64: as pack_t_f32 for float64 rows (row stride len·8 bytes).
  (func (export "pack_t_f64")
    (param $src i32) (param $dst i32) (param $len i32) (param $m i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $pd i32) (local $end i32) (local $rs i32) (local $g i32)
    (local.set $rs (i32.shl (local.get $len) (i32.const 3)))
    (local.set $pd (local.get $dst))
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (i32.shl (local.get $g) (i32.const 2)) (local.get $m)))
        (local.set $p0 (i32.add (local.get $src)
          (i32.mul (i32.shl (local.get $g) (i32.const 2)) (local.get $rs))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $rs)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $rs)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $rs)))
        (local.set $end (i32.add (local.get $pd) (i32.shl (local.get $len) (i32.const 5))))
        (loop $cols
          (f64.store (local.get $pd) (f64.load (local.get $p0)))
          (f64.store offset=8 (local.get $pd) (f64.load (local.get $p1)))
          (f64.store offset=16 (local.get $pd) (f64.load (local.get $p2)))
          (f64.store offset=24 (local.get $pd) (f64.load (local.get $p3)))
          (local.set $p0 (i32.add (local.get $p0) (i32.const 8)))
          (local.set $p1 (i32.add (local.get $p1) (i32.const 8)))
          (local.set $p2 (i32.add (local.get $p2) (i32.const 8)))
          (local.set $p3 (i32.add (local.get $p3) (i32.const 8)))
          (local.set $pd (i32.add (local.get $pd) (i32.const 32)))
          (br_if $cols (i32.lt_u (local.get $pd) (local.get $end))))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groups))))

  ;; --------------------------------------------------------------------
  ;; The micro-kernel: one 4 × 4 tile of G += Aᵀ B over `len` ≥ 1 vectors,
  ;; A and B two groups of a packed panel. The tile stays in eight f64x2
  ;; accumulators (c<row><pair>); each step loads B's four coordinates as
  ;; two vectors and broadcasts A's four coordinates one by one.
  (func $tile
    (param $pa i32) (param $pb i32) (param $len i32) (param $pg i32) (param $ldg i32)
    (local $end i32) (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $end (i32.add (local.get $pa) (i32.shl (local.get $len) (i32.const 5))))
    (loop $k
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $a (v128.load64_splat (local.get $pa)))
      (local.set $c00 (f64x2.relaxed_madd (local.get $a) (local.get $b0) (local.get $c00)))
      (local.set $c01 (f64x2.relaxed_madd (local.get $a) (local.get $b1) (local.get $c01)))
      (local.set $a (v128.load64_splat offset=8 (local.get $pa)))
      (local.set $c10 (f64x2.relaxed_madd (local.get $a) (local.get $b0) (local.get $c10)))
      (local.set $c11 (f64x2.relaxed_madd (local.get $a) (local.get $b1) (local.get $c11)))
      (local.set $a (v128.load64_splat offset=16 (local.get $pa)))
      (local.set $c20 (f64x2.relaxed_madd (local.get $a) (local.get $b0) (local.get $c20)))
      (local.set $c21 (f64x2.relaxed_madd (local.get $a) (local.get $b1) (local.get $c21)))
      (local.set $a (v128.load64_splat offset=24 (local.get $pa)))
      (local.set $c30 (f64x2.relaxed_madd (local.get $a) (local.get $b0) (local.get $c30)))
      (local.set $c31 (f64x2.relaxed_madd (local.get $a) (local.get $b1) (local.get $c31)))
      (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (br_if $k (i32.lt_u (local.get $pa) (local.get $end))))
    (v128.store (local.get $pg) (f64x2.add (v128.load (local.get $pg)) (local.get $c00)))
    (v128.store offset=16 (local.get $pg) (f64x2.add (v128.load offset=16 (local.get $pg)) (local.get $c01)))
    (local.set $pg (i32.add (local.get $pg) (local.get $ldg)))
    (v128.store (local.get $pg) (f64x2.add (v128.load (local.get $pg)) (local.get $c10)))
    (v128.store offset=16 (local.get $pg) (f64x2.add (v128.load offset=16 (local.get $pg)) (local.get $c11)))
    (local.set $pg (i32.add (local.get $pg) (local.get $ldg)))
    (v128.store (local.get $pg) (f64x2.add (v128.load (local.get $pg)) (local.get $c20)))
    (v128.store offset=16 (local.get $pg) (f64x2.add (v128.load offset=16 (local.get $pg)) (local.get $c21)))
    (local.set $pg (i32.add (local.get $pg) (local.get $ldg)))
    (v128.store (local.get $pg) (f64x2.add (v128.load (local.get $pg)) (local.get $c30)))
    (v128.store offset=16 (local.get $pg) (f64x2.add (v128.load offset=16 (local.get $pg)) (local.get $c31))))

  ;; syrk: for the column groups jg in [jg0, jg1), every tile (ig, jg) with
  ;; ig ≤ jg: G[4ig.., 4jg..] += Σ_r P[ig][r]ᵀ P[jg][r]. Rows of tiles are
  ;; taken in blocks of $mb groups so that the A groups of a block stay in L2
  ;; while every B group of the range passes by (each B group stays in L1
  ;; for the tiles of its column).
  (func $syrk (export "syrk")
    (param $p i32) (param $len i32) (param $g i32) (param $ldg i32)
    (param $jg0 i32) (param $jg1 i32) (param $mb i32)
    (local $gs i32) (local $ib i32) (local $ibEnd i32) (local $jg i32) (local $ig i32) (local $igEnd i32)
    (local $pb i32) (local $pgc i32)
    (local.set $gs (i32.shl (local.get $len) (i32.const 5)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $ib) (local.get $jg1)))
        (local.set $ibEnd (i32.add (local.get $ib) (local.get $mb)))
        (local.set $jg (select (local.get $jg0) (local.get $ib)
          (i32.gt_u (local.get $jg0) (local.get $ib))))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $jg) (local.get $jg1)))
            (local.set $igEnd (i32.add (local.get $jg) (i32.const 1)))
            (if (i32.lt_u (local.get $ibEnd) (local.get $igEnd))
              (then (local.set $igEnd (local.get $ibEnd))))
            (local.set $pb (i32.add (local.get $p) (i32.mul (local.get $jg) (local.get $gs))))
            ;; Column 4·jg of G, row 0.
            (local.set $pgc (i32.add (local.get $g) (i32.shl (local.get $jg) (i32.const 5))))
            (local.set $ig (local.get $ib))
            (loop $rows
              (call $tile
                (i32.add (local.get $p) (i32.mul (local.get $ig) (local.get $gs)))
                (local.get $pb)
                (local.get $len)
                (i32.add (local.get $pgc) (i32.mul (i32.shl (local.get $ig) (i32.const 2)) (local.get $ldg)))
                (local.get $ldg))
              (local.set $ig (i32.add (local.get $ig) (i32.const 1)))
              (br_if $rows (i32.lt_u (local.get $ig) (local.get $igEnd))))
            (local.set $jg (i32.add (local.get $jg) (i32.const 1)))
            (br $cols)))
        (local.set $ib (local.get $ibEnd))
        (br $blocks))))

  ;; --------------------------------------------------------------------
  ;; Work sharing between threads (see parallel.ts, which writes the block).
  ;;
  ;; The control block at $ctl (i32 slots): 0 GEN (generation, bumped for
  ;; each panel), 1 NEXT ((GEN & 0x7fff) << 16 | next task index), 2 NTASKS,
  ;; 3 DONE (tasks finished), 4 ERR, 5 P, 6 LEN, 7 G, 8 LDG, 9 MB (the syrk
  ;; arguments), 16… task t covers the column groups [slot 16+t, slot 17+t).
  ;;
  ;; run($ctl, $gen) claims tasks of generation $gen one at a time (compare-
  ;; and-swap on NEXT, so a claim made against a stale NEXT fails) and runs
  ;; them; it returns when none is left or the generation has moved on. The
  ;; thread that finishes the last task wakes the main thread waiting on DONE.
  ;; The main thread closes NEXT before it rewrites NTASKS and the arguments,
  ;; so a successful claim always sees the arguments of its own generation.
  (func (export "run") (param $ctl i32) (param $gen i32)
    (local $v i32) (local $idx i32) (local $nt i32) (local $tag i32) (local $t i32)
    (local.set $tag (i32.and (local.get $gen) (i32.const 0x7fff)))
    (loop $claim
      (local.set $v (i32.atomic.load offset=4 (local.get $ctl)))
      (if (i32.ne (i32.shr_u (local.get $v) (i32.const 16)) (local.get $tag))
        (then (return)))
      (local.set $idx (i32.and (local.get $v) (i32.const 0xffff)))
      (local.set $nt (i32.atomic.load offset=8 (local.get $ctl)))
      (if (i32.ge_u (local.get $idx) (local.get $nt))
        (then (return)))
      (br_if $claim (i32.ne
        (i32.atomic.rmw.cmpxchg offset=4 (local.get $ctl)
          (local.get $v) (i32.add (local.get $v) (i32.const 1)))
        (local.get $v)))
      (local.set $t (i32.add (local.get $ctl) (i32.shl (local.get $idx) (i32.const 2))))
      (call $syrk
        (i32.load offset=20 (local.get $ctl))
        (i32.load offset=24 (local.get $ctl))
        (i32.load offset=28 (local.get $ctl))
        (i32.load offset=32 (local.get $ctl))
        (i32.load offset=64 (local.get $t))
        (i32.load offset=68 (local.get $t))
        (i32.load offset=36 (local.get $ctl)))
      (if (i32.eq
            (i32.add (i32.atomic.rmw.add offset=12 (local.get $ctl) (i32.const 1)) (i32.const 1))
            (local.get $nt))
        (then (drop (memory.atomic.notify offset=12 (local.get $ctl) (i32.const 1)))))
      (br $claim)))
)
