#!/usr/bin/env python3
"""Fast float64 numpy programs timed against rank-models by bench/run.js.

    python3 bench/numpy_ref.py <scorer> <features.npy | probs.npy> <labels.npy>
    python3 bench/numpy_ref.py --selftest

Scorers (specs: /work/shared/specs/scorers.md, disco.md):

  logme-best      LogME, fixed-point variant A (scorers.md §1.3-1.4), the
                  fastest plain-numpy route: one float64 cast, the smaller Gram
                  matrix by matmul (numpy runs Xᵀ·X through BLAS syrk), one
                  np.linalg.eigh, then class sums of F (a one-hot matmul)
                  pushed through V: x_c = Vᵀ(Σ_{i∈c} F_i)/s, so U = F V / s is
                  never formed. O(k) fixed point per class with the
                  (D − k)·ln α padding.
  logme-official  The thuml/LogME `_fit_fixed_point` algorithm as scorers.md
                  §1.4 describes it: N > D: SVD of the Gram FᵀF, keep
                  s > 1e-10, U = F V / s; N ≤ D: thin SVD of F; then one
                  projection Uᵀ t per class and the per-class fixed point.
                  One change: the (D − k)·ln α term (thuml issue #23, PR #24)
                  is included, so the value equals rank-models'. It costs
                  nothing measurable.
  leep-nce        LEEP (§2) and NCE (§3) in one process, O(N·Cs): rows
                  grouped by label (stable argsort + np.add.reduceat) for the
                  joint, one matrix-vector product per class for the EEP,
                  argmax + bincount for NCE. Probabilities vs logits detected
                  as rank-models does (rows ≥ 0 summing to 1 ± 1e-3 are
                  probabilities, anything else goes through a float64 softmax).
  disco           DISCO (disco.md §1.1, §5): exact PCA from np.linalg.eigh of
                  the centred covariance XcᵀXc (or of Xc Xcᵀ when N < D),
                  k_eff = min(128, N, D), G = 8 disjoint groups, σ-ratio
                  weights, identity-covariance NCC per group with all N × C
                  logits of a group from one matmul.

Output: one JSON line on stdout,
  {"scorer": ..., "value": v | null, "values": {id: v, ...}, "seconds_inside": s, ...}
`seconds_inside` is wall time from just after `import numpy` to the result:
file loading and compute, without interpreter start-up.

--selftest compares every program with fixtures/reference.py (the slow,
spec-literal float64 reference) on small seeded inputs and exits non-zero on
a relative difference above 1e-9.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

T0 = time.perf_counter()

LOGME_EPS = 1e-5
LOGME_MAX_ITER = 11
LOGME_TOL = 1e-3
ROBUST_CUT = 2.2e-16          # scorers.md §1.4 "robust cut", as rank-models
LOG_2PI = math.log(2.0 * math.pi)
DISCO_K = 128
DISCO_G = 8
PROBS_SUM_TOL = 1e-3


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------

def load_f64(path: str) -> np.ndarray:
    a = np.load(path)
    if a.ndim != 2:
        raise SystemExit(f"{path}: expected a 2-D array, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float64)


def load_labels(path: str, n: int) -> tuple[np.ndarray, int]:
    """Dense codes 0..C-1 (sorted unique values), as rank-models recodes."""
    y = np.load(path)
    if y.ndim != 1 or y.shape[0] != n:
        raise SystemExit(f"{path}: expected {n} labels, got shape {y.shape}")
    classes, codes = np.unique(y, return_inverse=True)
    return codes.astype(np.int64).ravel(), int(classes.shape[0])


def one_hot(codes: np.ndarray, c: int) -> np.ndarray:
    """N × C float64 one-hot matrix (as a BLAS operand for class sums)."""
    h = np.zeros((codes.shape[0], c), dtype=np.float64)
    h[np.arange(codes.shape[0]), codes] = 1.0
    return h


# --------------------------------------------------------------------------
# LogME variant A: the per-class O(k) fixed point (scorers.md §1.4)
# --------------------------------------------------------------------------

def fixed_point(sigma: np.ndarray, x2: np.ndarray, q: float, n: int, d: int) -> float:
    """One target column: evidence / N. sigma: kept σ_i; x2 = x_i²; q = ‖t‖² − Σ x2."""
    k = sigma.shape[0]
    alpha, beta = 1.0, 1.0
    m2 = r2 = 0.0
    for _ in range(LOGME_MAX_ITER):
        tau = alpha / beta
        den = sigma + tau
        gamma = float(np.sum(sigma / den))
        m2 = float(np.sum(sigma * x2 / (den * den)))
        shrink = 1.0 + sigma / tau
        r2 = float(np.sum(x2 / (shrink * shrink))) + q
        alpha = gamma / (m2 + LOGME_EPS)
        beta = (n - gamma) / (r2 + LOGME_EPS)
        if abs(alpha / beta - tau) / tau <= LOGME_TOL:
            break
    logdet = float(np.sum(np.log(alpha + beta * sigma))) + (d - k) * math.log(alpha)
    L = (d / 2.0) * math.log(alpha) + (n / 2.0) * math.log(beta) - 0.5 * logdet \
        - (beta / 2.0) * r2 - (alpha / 2.0) * m2 - (n / 2.0) * LOG_2PI
    return L / n


def logme_from_projections(sigma, X, tnorm2, n, d) -> float:
    """X: k × C coordinates x_c = Uᵀ t_c; tnorm2: ‖t_c‖² = n_c."""
    X2 = X * X
    q = tnorm2 - X2.sum(axis=0)
    cols = [fixed_point(sigma, X2[:, c], float(q[c]), n, d) for c in range(X.shape[1])]
    return float(np.mean(cols))


def logme_best(F: np.ndarray, codes: np.ndarray, c: int) -> tuple[float, dict]:
    n, d = F.shape
    counts = np.bincount(codes, minlength=c).astype(np.float64)
    if n > d:
        G = F.T @ F                               # D × D, BLAS syrk
        lam, V = np.linalg.eigh(G)                # ascending
        lam, V = lam[::-1], V[:, ::-1]
        keep = lam > max(lam[0], 0.0) * max(n, d) * ROBUST_CUT
        sigma = lam[keep]
        S = one_hot(codes, c).T @ F               # C × D class sums of F
        X = (V[:, keep].T @ S.T) / np.sqrt(sigma)[:, None]   # k × C, = Uᵀ t_c
        info = {"decomposition": "FtF", "k": int(sigma.shape[0])}
    else:
        K = F @ F.T                               # N × N
        lam, U = np.linalg.eigh(K)
        sigma = np.clip(lam, 0.0, None)           # keep all N (§1.4)
        X = U.T @ one_hot(codes, c)               # k × C: class sums of the rows of U
        info = {"decomposition": "FFt", "k": int(sigma.shape[0])}
    return logme_from_projections(sigma, X, counts, n, d), info


def logme_official(F: np.ndarray, codes: np.ndarray, c: int) -> tuple[float, dict]:
    n, d = F.shape
    if n > d:
        # SVD of the Gram matrix (singular values of FᵀF = its eigenvalues)
        _, sv, vh = np.linalg.svd(F.T @ F)
        s = np.sqrt(sv)
        k = int(np.sum(s > 1e-10))
        s, vh = s[:k], vh[:k]
        U = (F @ vh.T) / s                        # N × k, formed explicitly
        sigma = s * s
        info = {"decomposition": "svd(FtF)", "k": k}
    else:
        U, s, _ = np.linalg.svd(F, full_matrices=False)
        sigma = s * s
        info = {"decomposition": "svd(F)", "k": int(s.shape[0])}
    cols = []
    for cls in range(c):
        t = (codes == cls).astype(np.float64)     # one projection per class
        x = U.T @ t
        x2 = x * x
        q = float(t @ t) - float(np.sum(x2))
        cols.append(fixed_point(sigma, x2, q, n, d))
    return float(np.mean(cols)), info


# --------------------------------------------------------------------------
# LEEP + NCE (scorers.md §2, §3)
# --------------------------------------------------------------------------

def as_probabilities(P: np.ndarray) -> tuple[np.ndarray, str]:
    """rank-models' auto detection: probabilities if every row is ≥ 0 and sums
    to 1 ± 1e-3, otherwise logits through a max-subtracted float64 softmax."""
    if P.min() >= 0 and np.all(np.abs(P.sum(axis=1) - 1.0) <= PROBS_SUM_TOL):
        return P, "probs"
    E = P - P.max(axis=1, keepdims=True)
    np.exp(E, out=E)
    E /= E.sum(axis=1, keepdims=True)
    return E, "logits"


def leep_nce(P: np.ndarray, codes: np.ndarray, c: int) -> tuple[dict, dict]:
    n, cs = P.shape
    P, kind = as_probabilities(P)
    # group the rows by label once: contiguous blocks, O(N·Cs)
    order = np.argsort(codes, kind="stable")
    Ps = P[order]
    counts = np.bincount(codes, minlength=c)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    present = counts > 0
    J = np.zeros((c, cs), dtype=np.float64)   # joint, unnormalised (1/N cancels in θ)
    J[present] = np.add.reduceat(Ps, starts[present], axis=0)
    mass = J.sum(axis=0)
    theta = np.zeros_like(J)
    np.divide(J, mass, out=theta, where=mass > 0)   # θ = 0 on zero-mass columns
    total = 0.0
    for cls in np.nonzero(present)[0]:
        blk = Ps[starts[cls]: starts[cls] + counts[cls]]
        total += float(np.sum(np.log(blk @ theta[cls])))
    leep = total / n
    # NCE from the argmax (first index on ties), exact 0·ln 0 = 0
    z = np.argmax(P, axis=1)
    cnt = np.bincount(codes * cs + z, minlength=c * cs).reshape(c, cs).astype(np.float64)
    colsum = cnt.sum(axis=0)
    nz = cnt > 0
    nce = float(np.sum(cnt[nz] * np.log((cnt / np.where(colsum > 0, colsum, 1.0))[nz]))) / n
    return {"leep": leep, "nce": nce}, {"probs_kind": kind}


# --------------------------------------------------------------------------
# DISCO (disco.md §1.1, §5)
# --------------------------------------------------------------------------

def disco(F: np.ndarray, codes: np.ndarray, c: int) -> tuple[float, dict]:
    n, d = F.shape
    F -= F.mean(axis=0)                       # centre in place (F is our own copy)
    k_eff = min(DISCO_K, n, d)
    if d <= n:
        lam, V = np.linalg.eigh(F.T @ F)      # centred covariance (unscaled)
        lam, V = lam[::-1], V[:, ::-1]
        Z = F @ V[:, :k_eff]                  # N × k_eff PCA scores
    else:
        lam, Ug = np.linalg.eigh(F @ F.T)
        lam, Ug = lam[::-1], Ug[:, ::-1]
        Z = Ug[:, :k_eff] * np.sqrt(np.clip(lam[:k_eff], 0.0, None))
    # numerically-zero components are exactly 0 for centred rank-deficient data
    zero = lam[:k_eff] <= lam[0] * max(n, d) * ROBUST_CUT
    Z[:, zero] = 0.0
    sv = np.sqrt(np.einsum("ij,ij->j", Z, Z))
    if k_eff < DISCO_G:
        groups, size = k_eff, 1
    else:
        groups, size = DISCO_G, k_eff // DISCO_G
    total_sv = float(np.sum(sv))
    counts = np.bincount(codes, minlength=c).astype(np.float64)
    log_prior = np.log(counts / n)
    H = one_hot(codes, c)
    rows = np.arange(n)
    ratio, ncc = [], []
    for g in range(groups):
        T = np.ascontiguousarray(Z[:, g * size:(g + 1) * size])   # N × s
        M = (H.T @ T) / counts[:, None]                           # C × s class means
        # −½‖T_i − m_c‖² = T_i·m_c − ½‖m_c‖² − ½‖T_i‖²; the last term is the
        # same for every class and cancels in the softmax, so it is left out.
        logits = T @ M.T - 0.5 * np.einsum("ij,ij->i", M, M)[None, :] + log_prior[None, :]
        mx = logits.max(axis=1, keepdims=True)
        lse = mx[:, 0] + np.log(np.sum(np.exp(logits - mx), axis=1))
        ncc.append(float(np.mean(np.exp(logits[rows, codes] - lse))))
        ratio.append(float(np.sum(sv[g * size:(g + 1) * size]) / total_sv))
    score = float(sum(r * v for r, v in zip(ratio, ncc)))
    return score, {"k_eff": int(k_eff), "groups": groups, "group_size": size}


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

SCORERS = ("logme-best", "logme-official", "leep-nce", "disco")


def run(scorer: str, data_path: str, labels_path: str) -> dict:
    A = load_f64(data_path)
    codes, c = load_labels(labels_path, A.shape[0])
    if scorer == "logme-best":
        v, info = logme_best(A, codes, c)
        values = {"logme": v}
    elif scorer == "logme-official":
        v, info = logme_official(A, codes, c)
        values = {"logme": v}
    elif scorer == "disco":
        v, info = disco(A, codes, c)
        values = {"disco": v}
    elif scorer == "leep-nce":
        values, info = leep_nce(A, codes, c)
    else:
        raise SystemExit(f"unknown scorer {scorer!r} (known: {', '.join(SCORERS)})")
    return {
        "scorer": scorer,
        "value": next(iter(values.values())) if len(values) == 1 else None,
        "values": values,
        "seconds_inside": time.perf_counter() - T0,
        "shape": list(A.shape),
        "classes": c,
        **info,
    }


def selftest() -> int:
    """Fast programs vs the spec-literal reference in fixtures/reference.py."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
    import reference as R  # noqa: E402

    rng = np.random.default_rng(20240607)
    worst = 0.0
    failures = 0

    def check(name, got, want):
        nonlocal worst, failures
        rel = abs(got - want) / max(abs(want), 1e-300)
        worst = max(worst, rel)
        ok = rel <= 1e-9
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: fast {got:.15g} reference {want:.15g} rel {rel:.1e}")

    for n, d, c in [(300, 40, 5), (120, 200, 4), (500, 64, 12), (60, 256, 4)]:
        mu = rng.standard_normal((c, d)) * 0.8
        y = np.arange(n) % c
        rng.shuffle(y)
        F = np.maximum(mu[y] + rng.standard_normal((n, d)), 0.0).astype(np.float32)
        F64 = F.astype(np.float64)
        want = R.logme(F, y)
        check(f"logme-best {n}x{d}x{c}", logme_best(F64.copy(), y, c)[0], want)
        check(f"logme-official {n}x{d}x{c}", logme_official(F64.copy(), y, c)[0], want)
        check(f"disco {n}x{d}x{c}", disco(F64.copy(), y, c)[0], R.disco(F, y)["score"])
    for n, cs, c in [(400, 30, 6), (1000, 100, 20)]:
        y = np.arange(n) % c
        rng.shuffle(y)
        L = rng.standard_normal((n, cs)) * 2 + 3 * (np.arange(cs)[None, :] % c == y[:, None])
        P = np.exp(L - L.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        P32 = P.astype(np.float32)
        got, _ = leep_nce(P32.astype(np.float64), y, c)
        check(f"leep {n}x{cs}x{c}", got["leep"], R.leep(P32, y))
        check(f"nce {n}x{cs}x{c}", got["nce"], R.nce(P32, y))
        gotl, info = leep_nce(L.copy(), y, c)      # logits path
        assert info["probs_kind"] == "logits"
        check(f"leep logits {n}x{cs}x{c}", gotl["leep"], R.leep(R.softmax_logits(L), y))
    print(f"selftest: worst relative difference {worst:.1e}, {failures} failure(s)")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    if argv == ["--selftest"]:
        return selftest()
    if len(argv) != 3 or argv[0] not in SCORERS:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(run(*argv)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
