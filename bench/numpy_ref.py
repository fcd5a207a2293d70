#!/usr/bin/env python3
"""Fast float64 numpy programs timed against rank-models by bench/run.js.

    python3 bench/numpy_ref.py <scorer> <features.npy | probs.npy> <labels.npy>
    python3 bench/numpy_ref.py --selftest

Scorers (definitions as in docs/scorers.md and docs/disco.md; LogME: You et
al., ICML 2021 / JMLR 2022, thuml/LogME; LEEP: Nguyen et al. 2020; NCE: Tran
et al. 2019; DISCO: arXiv:2412.19085):

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

The next programs all start from one `Centred` object: X = F − μ (in place)
and np.linalg.eigh of its smaller Gram (XᵀX by BLAS syrk when N > D, else
X Xᵀ by double-centring F Fᵀ).

  hscore          H-score (Bao et al., ICIP 2019; tllib `hscore.py`): class
                  sums of X in the eigenbasis, Σ_c Σ_i P_ci²/(σ_i n_c) over
                  σ_i > 1e-15·σ_max.
  hscore-shrink   shrinkage H-score (Ibrahim et al., ECML-PKDD 2022; tllib
                  `regularized_h_score`): Ledoit–Wolf intensity from the Gram
                  (‖S‖_F², trace) and the row norms, then the same eigenbasis.
  transrate       TransRate (Huang et al., ICML 2022; tllib `transrate.py`),
                  ε = 1e-4: log1p of the shared eigenvalues for the whole set,
                  the smaller Gram of each class block (a block of the N × N
                  centred Gram when N ≤ D).
  gbc             GBC, spherical (Pándy et al., CVPR 2022; google-research
  gbc-diagonal    stable_transfer `gbc.py`): PCA scores on min(64, N, D) axes
                  from the shared eigenvectors, two-pass class variances
                  floored at 1e-4, all C × C Bhattacharyya terms at once.
  nleep           N-LEEP (Li et al., CVPR 2021): PCA to > 0.8 explained
                  variance, Mulberry32 (seed 0) greedy k-means++ and Lloyd
                  (BLAS distances), full-covariance EM with batched Cholesky
                  factors, LEEP of the posteriors. Slow by nature:
                  O(N·K·k²) per EM pass with K = 5·C.
  sfda            SFDA (Shao et al., ECCV 2022; TencentARC/SFDA): shrunk LDA by
                  one Cholesky per stage on the centred rows (the N × N
                  isometric coordinates U·sqrt(λ) when N ≤ D; the score is
                  translation and rotation invariant), 3-round power
                  iteration for λ̂.
  knn, knn-k5     leave-one-out kNN accuracy (k = 1, 5): BLAS distances in row
                  blocks, np.partition, ties at the k-th distance by index.
  ridge-loo       ridge LOO accuracy: [F, 1]ᵀ[F, 1] assembled from the centred
                  Gram (FᵀF = XᵀX + N μμᵀ), or F Fᵀ + 1 when N ≤ D; leverages
                  and fitted values from its eigenvectors.
  shared          LogME, DISCO, H-score, TransRate, SFDA and ridge LOO in one
                  process from one Centred: the Gram product is formed once
                  (LogME through the rank-one update, ridge through the
                  bordered matrix); only SFDA's second stage needs another
                  product.

Output: one JSON line on stdout,
  {"scorer": ..., "value": v | null, "values": {id: v, ...}, "seconds_inside": s, ...}
`seconds_inside` is wall time from just after `import numpy` to the result:
file loading and compute, without interpreter start-up.

--selftest compares every program with fixtures/reference.py (the slow,
spec-literal float64 reference; needs scipy) on small seeded inputs and on
six fixture cases of fixtures/scorers (the discrete scorers, kNN, ridge LOO
and N-LEEP, only there: the fixture generator has checked their decisions to
be clear of ties), and exits non-zero on a relative difference above 1e-9
(values below 1e-9 in magnitude: absolute).
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
# The centred Gram, shared by H-score, shrinkage H-score, TransRate, DISCO,
# GBC, N-LEEP, SFDA, ridge LOO (and LogME through a rank-one update)
# --------------------------------------------------------------------------

HSCORE_RCOND = 1e-15
TRANSRATE_EPS = 1e-4
GBC_DIM = 64
GBC_FLOOR = 1e-4
NLEEP_RATIO = 0.8
GMM_REG = 1e-6
GMM_TOL = 1e-3
GMM_MAX_ITER = 100
RIDGE_FACTOR = 1e-3
RIDGE_CUT = 1e-12


def eigh_desc(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric eigen-decomposition, eigenvalues descending, clipped at 0."""
    lam, V = np.linalg.eigh(A)
    return np.clip(lam[::-1], 0.0, None), np.ascontiguousarray(V[:, ::-1])


def class_sums(A: np.ndarray, codes: np.ndarray, c: int) -> np.ndarray:
    """C × D row sums per class: one stable argsort + np.add.reduceat, O(N·D)."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=c)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.zeros((c, A.shape[1]), dtype=np.float64)
    present = counts > 0
    out[present] = np.add.reduceat(A[order], starts[present], axis=0)
    return out


class Centred:
    """X = F − μ (F is centred in place: it must be the caller's own copy)
    and the eigen-decomposition of its smaller Gram: XᵀX (D × D) when N > D,
    X Xᵀ (N × N, from F Fᵀ by double centring) otherwise. Every scorer below
    starts from this one object."""

    def __init__(self, F: np.ndarray, codes: np.ndarray, c: int):
        n, d = F.shape
        self.n, self.d, self.c, self.codes = n, d, c, codes
        self.counts = np.bincount(codes, minlength=c).astype(np.float64)
        self.mu = F.mean(axis=0)
        if n > d:
            self.side = "cols"
            F -= self.mu
            self.X = F
            self.gram = F.T @ F                                  # BLAS syrk
            self.row2 = np.einsum("ij,ij->i", F, F)
            self.lam, self.vecs = eigh_desc(self.gram)
            self.csum = class_sums(F, codes, c)                  # class sums of X
            self.P = self.csum @ self.vecs                       # v_jᵀ Xᵀ 1_c
        else:
            self.side = "rows"
            self.X = F                                           # uncentred here
            self.K = F @ F.T                                     # uncentred, for LogME / ridge
            r = self.K.mean(axis=0)
            self.gram = self.K - r[:, None] - r[None, :] + r.mean()
            self.row2 = np.diag(self.gram).copy()
            self.lam, self.vecs = eigh_desc(self.gram)
            self.P = (one_hot(codes, c).T @ self.vecs) * np.sqrt(self.lam)[None, :]

    def scores(self, k: int) -> np.ndarray:
        """PCA scores on the top k principal axes (N × k)."""
        if self.side == "cols":
            return self.X @ self.vecs[:, :k]
        return self.vecs[:, :k] * np.sqrt(self.lam[:k])[None, :]

    def coords(self) -> np.ndarray:
        """Coordinates of the centred rows in an orthonormal basis of their
        span: X itself (N > D) or U·sqrt(λ) (N ≤ D, an N × N isometric image)."""
        return self.X if self.side == "cols" else self.vecs * np.sqrt(self.lam)[None, :]


# ---- H-score and shrinkage H-score (Bao et al. 2019; Ibrahim et al. 2022)

def hscore_from(cs: Centred) -> float:
    keep = cs.lam > HSCORE_RCOND * cs.lam[0]
    P = cs.P[:, keep]
    return float(np.sum(P * P / cs.lam[keep][None, :] / cs.counts[:, None]))


def hscore_shrink_from(cs: Centred) -> tuple[float, float]:
    n, d = cs.n, cs.d
    if d == 1:
        a = 0.0
    else:
        s_fro2 = float(np.sum(cs.gram * cs.gram)) / (n * n)
        nu = float(np.sum(cs.lam)) / (n * d)
        bbar = (float(np.sum(cs.row2 * cs.row2)) / n - s_fro2) / (n * d)
        delta = (s_fro2 - d * nu * nu) / d
        m = min(bbar, delta)
        a = 0.0 if m == 0 else m / delta
    nu = float(np.sum(cs.lam)) / (n * d)
    den = (1.0 - a) * cs.lam / n + a * nu
    keep = den > 0 if a > 0 else cs.lam > HSCORE_RCOND * cs.lam[0]
    total = float(np.sum(cs.P[:, keep] ** 2 / den[keep][None, :] / cs.counts[:, None]))
    return (1.0 - a) / (n - 1) * total, a


# ---- TransRate (Huang et al. 2022)

def transrate_from(cs: Centred) -> float:
    def rate(lam, rows):
        return 0.5 * float(np.sum(np.log1p(np.clip(lam, 0.0, None) / (rows * TRANSRATE_EPS))))
    total = rate(cs.lam, cs.n)
    order = np.argsort(cs.codes, kind="stable")
    starts = np.concatenate(([0], np.cumsum(cs.counts.astype(np.int64))))
    within = 0.0
    for k in range(cs.c):
        idx = order[starts[k]:starts[k + 1]]
        if cs.side == "rows":
            block = cs.gram[np.ix_(idx, idx)]             # Z_c Z_cᵀ: a block of the centred Gram
        else:
            Zc = cs.X[idx]
            block = Zc @ Zc.T if idx.shape[0] <= cs.d else Zc.T @ Zc
        within += rate(np.linalg.eigvalsh(block), idx.shape[0])
    return total - within / cs.c


# ---- GBC (Pándy et al. 2022)

def gbc_from(cs: Centred, gaussian: str = "spherical") -> float:
    p = min(GBC_DIM, cs.n, cs.d)
    Z = cs.scores(p)
    zero = cs.lam[:p] <= cs.lam[0] * max(cs.n, cs.d) * ROBUST_CUT
    Z[:, zero] = 0.0
    cnt = cs.counts[:, None]
    M = class_sums(Z, cs.codes, cs.c) / cnt
    dev = Z - M[cs.codes]                                   # two-pass variances
    V = np.maximum(class_sums(dev * dev, cs.codes, cs.c) / cnt, GBC_FLOOR)
    diff2 = (M[:, None, :] - M[None, :, :]) ** 2             # C × C × p
    if gaussian == "spherical":
        s = V.mean(axis=1)
        sb = 0.5 * (s[:, None] + s[None, :])
        DB = diff2.sum(axis=2) / (8.0 * sb) \
            + 0.5 * (np.log(sb) - 0.5 * np.log(s)[:, None] - 0.5 * np.log(s)[None, :])
    else:
        vb = 0.5 * (V[:, None, :] + V[None, :, :])
        lv = np.log(V)
        DB = np.sum(diff2 / (8.0 * vb)
                    + 0.5 * (np.log(vb) - 0.5 * lv[:, None, :] - 0.5 * lv[None, :, :]), axis=2)
    BC = np.exp(-DB)
    np.fill_diagonal(BC, 0.0)
    return -float(np.sum(BC))


# ---- N-LEEP (Li et al. 2021), deterministic Mulberry32 k-means++ init

def mulberry32(seed: int = 0):
    """Mulberry32 on unsigned 32-bit state, u ∈ [0, 1)."""
    a = seed & 0xFFFFFFFF

    def nxt() -> float:
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = ((a ^ (a >> 15)) * (a | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296.0
    return nxt


def kmeans_init(Z: np.ndarray, K: int) -> np.ndarray:
    """Greedy k-means++ (2 + ⌊ln K⌋ candidates, Mulberry32 seed 0) + Lloyd
    (nearest centre by ‖x‖² − 2x·c + ‖c‖², empty clusters keep their centre)."""
    rnd = mulberry32(0)
    n = Z.shape[0]
    first = min(int(rnd() * n), n - 1)
    diff = Z - Z[first]
    d2 = np.einsum("ij,ij->i", diff, diff)
    chosen = [first]
    n_local = 2 + int(math.log(K))
    for _ in range(1, K):
        cum = np.cumsum(d2)
        cand = np.minimum(np.searchsorted(cum, np.array([rnd() for _ in range(n_local)]) * cum[-1],
                                          side="right"), n - 1)
        diff = Z[None, :, :] - Z[cand][:, None, :]            # n_local × N × k
        nd = np.minimum(d2[None, :], np.einsum("ijk,ijk->ij", diff, diff))
        best = int(np.argmin(nd.sum(axis=1)))
        chosen.append(int(cand[best]))
        d2 = nd[best]
    C = Z[chosen].copy()
    z2 = np.einsum("ij,ij->i", Z, Z)

    def assign(C):
        return np.argmin(z2[:, None] - 2.0 * (Z @ C.T) + np.einsum("ij,ij->i", C, C)[None, :], axis=1)

    lab = assign(C)
    for _ in range(300):
        cnt = np.bincount(lab, minlength=K)
        sums = class_sums(Z, lab, K)
        live = cnt > 0
        C[live] = sums[live] / cnt[live, None]
        new = assign(C)
        if np.array_equal(new, lab):
            break
        lab = new
    return lab


def gmm_posteriors(Z: np.ndarray, labels: np.ndarray, K: int) -> tuple[np.ndarray, int]:
    """Full-covariance EM (sklearn GaussianMixture semantics) from hard labels;
    batched Cholesky factors, log-densities by one einsum per pass."""
    n, k = Z.shape
    eps10 = 10.0 * np.finfo(np.float64).eps
    eye = np.eye(k)

    def m_step(R):
        nk = R.sum(axis=0) + eps10
        means = (R.T @ Z) / nk[:, None]
        covs = np.empty((K, k, k))
        for j in range(K):                                   # one BLAS product per component
            diff = Z - means[j]
            covs[j] = (R[:, j, None] * diff).T @ diff / nk[j] + GMM_REG * eye
        w = nk / n
        return w / w.sum(), means, covs

    def log_joint(w, means, covs):
        L = np.linalg.cholesky(covs)                         # batched, K × k × k
        Linv = np.linalg.inv(L)
        logdet = np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1)
        out = np.empty((n, K))
        for j in range(K):
            y = (Z - means[j]) @ Linv[j].T
            out[:, j] = -0.5 * (k * LOG_2PI + np.einsum("ij,ij->i", y, y)) - logdet[j]
        return out + np.log(w)[None, :]

    def lse(A):
        mx = A.max(axis=1, keepdims=True)
        return mx[:, 0] + np.log(np.sum(np.exp(A - mx), axis=1))

    R = np.zeros((n, K))
    R[np.arange(n), labels] = 1.0
    params = m_step(R)
    lb, it = -math.inf, 0
    for it in range(1, GMM_MAX_ITER + 1):
        prev = lb
        lj = log_joint(*params)
        l = lse(lj)
        lb = float(np.mean(l))
        params = m_step(np.exp(lj - l[:, None]))
        if abs(lb - prev) < GMM_TOL:
            break
    lj = log_joint(*params)
    return np.exp(lj - lse(lj)[:, None]), it


def leep_value(P: np.ndarray, codes: np.ndarray, c: int) -> float:
    Q = class_sums(P, codes, c)
    mass = Q.sum(axis=0)
    theta = np.zeros_like(Q)
    np.divide(Q, mass, out=theta, where=mass > 0)
    return float(np.mean(np.log(np.einsum("ij,ij->i", P, theta[codes]))))


def nleep_from(cs: Centred) -> tuple[float, dict]:
    cum = np.cumsum(cs.lam / np.sum(cs.lam))
    k = min(int(np.searchsorted(cum, NLEEP_RATIO, side="right")) + 1, cs.lam.shape[0])
    Z = np.ascontiguousarray(cs.scores(k))
    K = min(5 * cs.c, cs.n)
    post, iters = gmm_posteriors(Z, kmeans_init(Z, K), K)
    return leep_value(post, cs.codes, cs.c), {"pca_components": k, "n_components": K,
                                              "em_iterations": iters}


# ---- SFDA (Shao et al. 2022): shrunk LDA by Cholesky, on the centred rows

def _lda_logits(Y, codes, c, counts, shrink, d_orig):
    """Shrunk-LDA logits of rows Y (any isometric coordinates of the centred
    features); trace(S_w)/D uses the original feature dimension."""
    n = Y.shape[0]
    M = class_sums(Y, codes, c) / counts[:, None]
    Yw = Y - M[codes]
    Sw = (Yw.T @ Yw) / n
    Sws = (1.0 - shrink) * Sw
    Sws.flat[:: Sw.shape[0] + 1] += shrink * float(np.trace(Sw)) / d_orig
    L = np.linalg.cholesky(Sws)
    W = np.linalg.solve(L.T, np.linalg.solve(L, M.T))             # S_ws⁻¹ μ_c
    return Y @ W - 0.5 * np.einsum("cd,dc->c", M, W)[None, :] + np.log(counts / n)[None, :], M


def _softmax(A):
    E = np.exp(A - A.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def sfda_from(cs: Centred) -> tuple[float, dict]:
    n, d, c, codes, counts = cs.n, cs.d, cs.c, cs.codes, cs.counts
    Y = cs.coords()
    M = class_sums(Y, codes, c) / counts[:, None]
    Yw = Y - M[codes]
    # power-iteration start S_w·1: the within-class residuals' row sums in the
    # original D coordinates, pushed through Ywᵀ (exact for both sides)
    if cs.side == "cols":
        w = Yw.sum(axis=1)
    else:
        rs = cs.X.sum(axis=1)
        w = rs - (class_sums(rs[:, None], codes, c)[:, 0] / counts)[codes]
    x = Yw.T @ w / n
    if not np.any(x):
        lam_hat = 0.0
    else:
        def sw(v):
            return Yw.T @ (Yw @ v) / n
        yv = x
        for _ in range(3):
            t = sw(x)
            yv = t / np.linalg.norm(t)
            t = sw(yv)
            x = t / np.linalg.norm(t)
        lam_hat = float(x @ sw(yv))
    shrink = max(math.exp(-5.0 * lam_hat), 1e-10)
    logits, M = _lda_logits(Y, codes, c, counts, shrink, d)
    pt = _softmax(_softmax(logits))
    wt = pt[np.arange(n), codes]
    Mbar = (M.sum(axis=0)[None, :] - M) / (c - 1)
    Y2 = wt[:, None] * Y + (1.0 - wt)[:, None] * Mbar[codes]
    q = _softmax(_lda_logits(Y2, codes, c, counts, shrink, d)[0])
    return float(np.mean(q[np.arange(n), codes])), {"lambda_hat": lam_hat, "shrinkage": shrink}


# ---- ridge leave-one-out probe (own baseline)

def ridge_loo_from(cs: Centred) -> float:
    n, d, c, codes = cs.n, cs.d, cs.c, cs.codes
    Y = one_hot(codes, c)
    if cs.side == "cols":
        # [F, 1]ᵀ[F, 1] from the centred Gram: FᵀF = XᵀX + N μμᵀ, Fᵀ1 = N μ
        G = np.empty((d + 1, d + 1))
        G[:d, :d] = cs.gram + n * np.outer(cs.mu, cs.mu)
        G[:d, d] = G[d, :d] = n * cs.mu
        G[d, d] = n
        lam_r = RIDGE_FACTOR * float(np.trace(G)) / (d + 1)
        sig, V = eigh_desc(G)
        keep = sig > RIDGE_CUT * sig[0]
        sig, V = sig[keep], V[:, keep]
        g = sig / (sig + lam_r)
        # F_a V = X V[:d] + 1 (μᵀ V[:d] + V[d]), then U = F_a V / s
        FaV = cs.X @ V[:d] + (cs.mu @ V[:d] + V[d])[None, :]
        U = FaV / np.sqrt(sig)[None, :]
    else:
        Ka = cs.K + 1.0
        lam_r = RIDGE_FACTOR * float(np.trace(Ka)) / (d + 1)
        sig, U = eigh_desc(Ka)
        keep = sig > RIDGE_CUT * sig[0]
        sig, U = sig[keep], U[:, keep]
        g = sig / (sig + lam_r)
    Yhat = (U * g[None, :]) @ (U.T @ Y)
    h = np.einsum("ij,ij,j->i", U, U, g)
    loo = (Yhat - h[:, None] * Y) / (1.0 - h)[:, None]
    return float(np.mean(np.argmax(loo, axis=1) == codes))


# ---- LogME (variant A) from the centred Gram: FᵀF = XᵀX + N μμᵀ

def logme_from(cs: Centred) -> float:
    n, d, c = cs.n, cs.d, cs.c
    if cs.side == "cols":
        lam, V = eigh_desc(cs.gram + n * np.outer(cs.mu, cs.mu))
        keep = lam > lam[0] * max(n, d) * ROBUST_CUT
        sigma = lam[keep]
        S = cs.csum + cs.counts[:, None] * cs.mu[None, :]       # class sums of F
        X = (V[:, keep].T @ S.T) / np.sqrt(sigma)[:, None]
    else:
        lam, U = np.linalg.eigh(cs.K)
        sigma = np.clip(lam, 0.0, None)
        X = U.T @ one_hot(cs.codes, c)
    return logme_from_projections(sigma, X, cs.counts, n, d)


# ---- leave-one-out kNN (own baseline)

def knn(F: np.ndarray, codes: np.ndarray, c: int, k: int = 1) -> float:
    """Squared distances ‖a‖² + ‖b‖² − 2a·b in row blocks (BLAS), the k
    nearest by np.partition, ties at the k-th distance resolved by index,
    neighbours ordered by (distance, index), first-met class wins a vote tie."""
    n = F.shape[0]
    f2 = np.einsum("ij,ij->i", F, F)
    correct = 0
    step = max(1, min(n, 50_000_000 // (8 * n)))
    for s0 in range(0, n, step):
        rows = np.arange(s0, min(n, s0 + step))
        D2 = f2[rows, None] + f2[None, :] - 2.0 * (F[rows] @ F.T)
        D2[np.arange(rows.shape[0]), rows] = np.inf
        kth = np.partition(D2, k - 1, axis=1)[:, k - 1]
        for r in range(rows.shape[0]):
            d = D2[r]
            idx = np.flatnonzero(d <= kth[r])                   # ascending index order
            idx = idx[np.argsort(d[idx], kind="stable")][:k]      # (distance, index)
            lab = codes[idx]
            cnt = np.bincount(lab, minlength=c)
            top = cnt.max()
            pred = next(int(v) for v in lab if cnt[v] == top)
            correct += pred == codes[rows[r]]
    return correct / n


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def disco_from(cs: Centred) -> float:
    """DISCO from the shared centred eigen-decomposition (same steps as
    `disco`, which keeps its own Gram so that its timing is unchanged)."""
    n, d, c, codes = cs.n, cs.d, cs.c, cs.codes
    k_eff = min(DISCO_K, n, d)
    Z = cs.scores(k_eff)
    zero = cs.lam[:k_eff] <= cs.lam[0] * max(n, d) * ROBUST_CUT
    Z[:, zero] = 0.0
    sv = np.sqrt(np.einsum("ij,ij->j", Z, Z))
    groups, size = (k_eff, 1) if k_eff < DISCO_G else (DISCO_G, k_eff // DISCO_G)
    total_sv = float(np.sum(sv))
    log_prior = np.log(cs.counts / n)
    rows = np.arange(n)
    score = 0.0
    for g in range(groups):
        T = np.ascontiguousarray(Z[:, g * size:(g + 1) * size])
        M = class_sums(T, codes, c) / cs.counts[:, None]
        logits = T @ M.T - 0.5 * np.einsum("ij,ij->i", M, M)[None, :] + log_prior[None, :]
        mx = logits.max(axis=1, keepdims=True)
        lse = mx[:, 0] + np.log(np.sum(np.exp(logits - mx), axis=1))
        score += float(np.sum(sv[g * size:(g + 1) * size]) / total_sv) \
            * float(np.mean(np.exp(logits[rows, codes] - lse)))
    return score


SCORERS = ("logme-best", "logme-official", "leep-nce", "disco", "hscore", "hscore-shrink",
           "transrate", "gbc", "gbc-diagonal", "nleep", "sfda", "knn", "knn-k5", "ridge-loo",
           "shared")


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
    elif scorer in ("knn", "knn-k5"):
        values, info = {scorer: knn(A, codes, c, 5 if scorer == "knn-k5" else 1)}, {}
    elif scorer in SCORERS:
        values, info = centred_program(scorer, A, codes, c)
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


def centred_program(scorer: str, A: np.ndarray, codes: np.ndarray, c: int) -> tuple[dict, dict]:
    """The programs built on the shared centred Gram. `shared` computes LogME,
    DISCO, H-score, TransRate, SFDA and ridge LOO from one `Centred`."""
    cs = Centred(A, codes, c)
    info = {"decomposition": "XtX" if cs.side == "cols" else "XXt"}
    if scorer == "hscore":
        return {"hscore": hscore_from(cs)}, info
    if scorer == "hscore-shrink":
        v, a = hscore_shrink_from(cs)
        return {"hscore-shrink": v}, {**info, "shrinkage": a}
    if scorer == "transrate":
        return {"transrate": transrate_from(cs)}, info
    if scorer in ("gbc", "gbc-diagonal"):
        return {scorer: gbc_from(cs, "diagonal" if scorer == "gbc-diagonal" else "spherical")}, info
    if scorer == "nleep":
        v, extra = nleep_from(cs)
        return {"nleep": v}, {**info, **extra}
    if scorer == "sfda":
        v, extra = sfda_from(cs)
        return {"sfda": v}, {**info, **extra}
    if scorer == "ridge-loo":
        return {"ridge-loo": ridge_loo_from(cs)}, info
    if scorer == "shared":
        sf, _ = sfda_from(cs)
        return {"logme": logme_from(cs), "disco": disco_from(cs), "hscore": hscore_from(cs),
                "transrate": transrate_from(cs), "sfda": sf, "ridge-loo": ridge_loo_from(cs)}, info
    raise SystemExit(f"unknown scorer {scorer!r}")


def selftest() -> int:
    """Fast programs vs the spec-literal reference in fixtures/reference.py."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
    import reference as R  # noqa: E402

    rng = np.random.default_rng(20240607)
    worst = 0.0
    failures = 0

    def check(name, got, want, atol=0.0):
        """Relative agreement to 1e-9; values closer to 0 than `atol` are
        compared absolutely (N-LEEP and GBC can be ~1e-17, with few
        meaningful digits)."""
        nonlocal worst, failures
        rel = abs(got - want) / max(abs(want), 1e-300)
        if abs(want) >= atol:
            worst = max(worst, rel)
        ok = rel <= 1e-9 or abs(got - want) <= atol
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
    # the programs on the shared centred Gram, on synthetic data (continuous
    # scorers) and on fixture cases whose discrete decisions (kNN, ridge
    # argmax, k-means) the fixture generator has checked to be clear of ties
    def new_programs(F, y, c, tag, discrete):
        F64 = np.asarray(F, dtype=np.float64)

        def cs():
            return Centred(F64.copy(), y, c)

        check(f"hscore {tag}", hscore_from(cs()), R.hscore(F, y))
        check(f"hscore-shrink {tag}", hscore_shrink_from(cs())[0], R.hscore_shrink(F, y))
        check(f"transrate {tag}", transrate_from(cs()), R.transrate(F, y))
        check(f"gbc {tag}", gbc_from(cs()), R.gbc(F, y), atol=1e-9)
        check(f"gbc-diagonal {tag}", gbc_from(cs(), "diagonal"), R.gbc(F, y, "diagonal"), atol=1e-9)
        check(f"sfda {tag}", sfda_from(cs())[0], R.sfda(F, y))
        sh = centred_program("shared", F64.copy(), y, c)[0]
        check(f"shared:logme {tag}", sh["logme"], R.logme(F, y))
        check(f"shared:disco {tag}", sh["disco"], R.disco(F, y)["score"])
        check(f"shared:hscore {tag}", sh["hscore"], R.hscore(F, y))
        check(f"shared:transrate {tag}", sh["transrate"], R.transrate(F, y))
        check(f"shared:sfda {tag}", sh["sfda"], R.sfda(F, y))
        if discrete:
            check(f"nleep {tag}", nleep_from(cs())[0], R.nleep(F, y), atol=1e-9)
            check(f"knn {tag}", knn(F64, y, c, 1), R.knn(F, y, 1))
            check(f"knn-k5 {tag}", knn(F64, y, c, 5), R.knn(F, y, 5))
            check(f"ridge-loo {tag}", ridge_loo_from(cs()), R.ridge_loo(F, y))
            check(f"shared:ridge-loo {tag}", sh["ridge-loo"], R.ridge_loo(F, y))

    for n, d, c in [(300, 40, 5), (120, 200, 4), (60, 256, 4)]:
        mu = rng.standard_normal((c, d)) * 0.8
        y = np.arange(n) % c
        rng.shuffle(y)
        F = np.maximum(mu[y] + rng.standard_normal((n, d)), 0.0).astype(np.float32)
        new_programs(F, y, c, f"{n}x{d}x{c}", discrete=False)
    fx = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "scorers")
    for case in ("ordinary_300x32x5", "logme_n_lt_d_60x256", "rank_deficient_collinear",
                 "labels_1_3_4_7", "float32_features", "integer_ties_sfda_zero_start"):
        F = np.load(os.path.join(fx, case, "features.npy"))
        _, codes = np.unique(np.load(os.path.join(fx, case, "labels.npy")), return_inverse=True)
        codes = codes.astype(np.int64).ravel()
        new_programs(F, codes, int(codes.max()) + 1, case,
                     discrete=case != "integer_ties_sfda_zero_start")
        if case == "integer_ties_sfda_zero_start":      # exact ties: the integer case
            F64 = F.astype(np.float64)
            c = int(codes.max()) + 1
            check(f"knn {case}", knn(F64, codes, c, 1), R.knn(F, codes, 1))
            check(f"knn-k5 {case}", knn(F64, codes, c, 5), R.knn(F, codes, 5))
            check(f"ridge-loo {case}", ridge_loo_from(Centred(F64.copy(), codes, c)), R.ridge_loo(F, codes))
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
