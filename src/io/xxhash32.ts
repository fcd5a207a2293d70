/**
 * xxHash32 (Yann Collet's 32-bit non-cryptographic hash), the checksum of the
 * LZ4 frame format: header checksum, block checksums and content checksum.
 *
 * Written from the algorithm's description: four 32-bit accumulators consume
 * 16-byte stripes, then the remaining 4-byte words and single bytes are mixed
 * into the merged state, and a final avalanche spreads every input bit. All
 * arithmetic is modulo 2^32 (Math.imul and `| 0`); input words are read
 * little-endian whatever the platform.
 */

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

/** xxHash32 of `data` with `seed` (default 0), as an unsigned 32-bit number. */
export function xxh32(data: Uint8Array, seed = 0): number {
  const n = data.length;
  let p = 0;
  let h: number;
  if (n >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const last = n - 16;
    while (p <= last) {
      let w = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24);
      v1 = (v1 + Math.imul(w, P2)) | 0;
      v1 = Math.imul((v1 << 13) | (v1 >>> 19), P1);
      w = data[p + 4] | (data[p + 5] << 8) | (data[p + 6] << 16) | (data[p + 7] << 24);
      v2 = (v2 + Math.imul(w, P2)) | 0;
      v2 = Math.imul((v2 << 13) | (v2 >>> 19), P1);
      w = data[p + 8] | (data[p + 9] << 8) | (data[p + 10] << 16) | (data[p + 11] << 24);
      v3 = (v3 + Math.imul(w, P2)) | 0;
      v3 = Math.imul((v3 << 13) | (v3 >>> 19), P1);
      w = data[p + 12] | (data[p + 13] << 8) | (data[p + 14] << 16) | (data[p + 15] << 24);
      v4 = (v4 + Math.imul(w, P2)) | 0;
      v4 = Math.imul((v4 << 13) | (v4 >>> 19), P1);
      p += 16;
    }
    h = (((v1 << 1) | (v1 >>> 31)) + ((v2 << 7) | (v2 >>> 25)) + ((v3 << 12) | (v3 >>> 20)) + ((v4 << 18) | (v4 >>> 14))) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  // The length enters modulo 2^32.
  h = (h + (n % 0x100000000)) | 0;
  while (p + 4 <= n) {
    const w = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24);
    h = (h + Math.imul(w, P3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), P4);
    p += 4;
  }
  while (p < n) {
    h = (h + Math.imul(data[p], P5)) | 0;
    h = Math.imul((h << 11) | (h >>> 21), P1);
    p++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}
