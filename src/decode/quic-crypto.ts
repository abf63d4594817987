/**
 * The cryptography a QUIC Initial packet needs to be read (RFC 9001 §5): SHA-256 (FIPS 180-4), HMAC-SHA256
 * (RFC 2104), HKDF-Extract and TLS 1.3's HKDF-Expand-Label (RFC 5869, RFC 8446 §7.1), AES-128 encryption (FIPS-197)
 * and AES-128-GCM decryption with its tag checked (NIST SP 800-38D).
 *
 * Written here rather than taken from node:crypto because node:crypto makes objects and buffers on every call and
 * the packet path allocates nothing: every class below works over typed arrays made once, in its constructor. The
 * tables (the AES S-box and round tables, SHA-256's constants) are computed once when the module loads. Speed is
 * secondary: only a QUIC flow's first client packets go through it. Nothing here is secret-safe (table lookups
 * indexed by key bytes): the keys of an Initial packet are public by design.
 */

// ---- SHA-256 ----------------------------------------------------------------------------------------------------

/** The first 32 bits of the fractional parts of the square roots (H0) and cube roots (K) of the first primes. */
const SHA_K = new Uint32Array(64);
const SHA_H0 = new Uint32Array(8);
{
  const primes: number[] = [];
  for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
  const frac32 = (x: number): number => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  for (let i = 0; i < 64; i++) SHA_K[i] = frac32(Math.cbrt(primes[i]!));
  for (let i = 0; i < 8; i++) SHA_H0[i] = frac32(Math.sqrt(primes[i]!));
}

/** SHA-256, fed in pieces: `reset`, `update` any number of times, `finish`. */
export class Sha256 {
  private readonly h = new Uint32Array(8);
  private readonly w = new Uint32Array(64);
  private readonly block = new Uint8Array(64);
  private used = 0;
  private total = 0;

  constructor() {
    this.reset();
  }

  reset(): this {
    this.h.set(SHA_H0);
    this.used = 0;
    this.total = 0;
    return this;
  }

  update(buf: Uint8Array, off: number, len: number): this {
    this.total += len;
    for (let k = 0; k < len; k++) {
      this.block[this.used++] = buf[off + k]!;
      if (this.used === 64) {
        this.compress();
        this.used = 0;
      }
    }
    return this;
  }

  /** The 32-byte digest into `out[off ..]`; the hash must be reset before it is used again. */
  finish(out: Uint8Array, off: number): void {
    const bits = this.total * 8;
    const b = this.block;
    b[this.used++] = 0x80;
    if (this.used > 56) {
      b.fill(0, this.used);
      this.compress();
      this.used = 0;
    }
    b.fill(0, this.used, 56);
    const hi = Math.floor(bits / 2 ** 32);
    b[56] = hi >>> 24;
    b[57] = hi >>> 16;
    b[58] = hi >>> 8;
    b[59] = hi;
    b[60] = bits >>> 24;
    b[61] = bits >>> 16;
    b[62] = bits >>> 8;
    b[63] = bits;
    this.compress();
    for (let i = 0; i < 8; i++) {
      const v = this.h[i]!;
      out[off + 4 * i] = v >>> 24;
      out[off + 4 * i + 1] = v >>> 16;
      out[off + 4 * i + 2] = v >>> 8;
      out[off + 4 * i + 3] = v;
    }
  }

  private compress(): void {
    const w = this.w;
    const b = this.block;
    for (let i = 0; i < 16; i++) w[i] = (b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!;
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    const h = this.h;
    let a = h[0]!, bb = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, hh = h[7]!;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + SHA_K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    h[0] = h[0]! + a;
    h[1] = h[1]! + bb;
    h[2] = h[2]! + c;
    h[3] = h[3]! + d;
    h[4] = h[4]! + e;
    h[5] = h[5]! + f;
    h[6] = h[6]! + g;
    h[7] = h[7]! + hh;
  }
}

/** HMAC-SHA256 (RFC 2104): `setKey`, then `begin`, `update`..., `finish` as often as wanted. */
export class HmacSha256 {
  private readonly inner = new Sha256();
  private readonly outer = new Sha256();
  private readonly ipad = new Uint8Array(64);
  private readonly opad = new Uint8Array(64);
  private readonly digest = new Uint8Array(32);

  setKey(key: Uint8Array, off: number, len: number): this {
    const k = this.ipad; // the key block, padded with zeros (hashed first when longer than a block)
    k.fill(0);
    if (len > 64) this.inner.reset().update(key, off, len).finish(k, 0);
    else for (let i = 0; i < len; i++) k[i] = key[off + i]!;
    for (let i = 0; i < 64; i++) {
      this.opad[i] = k[i]! ^ 0x5c;
      k[i] = k[i]! ^ 0x36;
    }
    return this;
  }

  begin(): this {
    this.inner.reset().update(this.ipad, 0, 64);
    return this;
  }

  update(buf: Uint8Array, off: number, len: number): this {
    this.inner.update(buf, off, len);
    return this;
  }

  /** The 32-byte MAC into `out[off ..]`. */
  finish(out: Uint8Array, off: number): void {
    this.inner.finish(this.digest, 0);
    this.outer.reset().update(this.opad, 0, 64).update(this.digest, 0, 32).finish(out, off);
  }
}

/**
 * TLS 1.3's HkdfLabel for an empty context (RFC 8446 §7.1): uint16 length, the label "tls13 " + `label` with its
 * length byte, an empty context; followed by HKDF-Expand's block counter 0x01 (one block: lengths up to 32).
 */
export function expandLabelInfo(label: string, length: number): Uint8Array {
  const full = `tls13 ${label}`;
  const info = new Uint8Array(2 + 1 + full.length + 1 + 1);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = full.length;
  for (let i = 0; i < full.length; i++) info[3 + i] = full.charCodeAt(i);
  info[3 + full.length] = 0; // context length
  info[4 + full.length] = 1; // HKDF-Expand's T(1) counter
  return info;
}

/** HKDF-Extract and HKDF-Expand-Label over SHA-256, into the caller's buffers. */
export class Hkdf {
  private readonly hmac = new HmacSha256();
  private readonly t = new Uint8Array(32);

  /** PRK = HMAC(salt, ikm), 32 bytes into `out[outOff ..]`. */
  extract(salt: Uint8Array, ikm: Uint8Array, ikmOff: number, ikmLen: number, out: Uint8Array, outOff: number): void {
    this.hmac.setKey(salt, 0, salt.length).begin().update(ikm, ikmOff, ikmLen).finish(out, outOff);
  }

  /**
   * HKDF-Expand-Label(secret, label, "", length) with `info` from expandLabelInfo(label, length) (length ≤ 32):
   * the first `length` bytes of HMAC(secret, info), into `out[outOff ..]`.
   */
  expandLabel(secret: Uint8Array, secretOff: number, info: Uint8Array, out: Uint8Array, outOff: number): void {
    const length = (info[0]! << 8) | info[1]!;
    this.hmac.setKey(secret, secretOff, 32).begin().update(info, 0, info.length).finish(this.t, 0);
    for (let i = 0; i < length; i++) out[outOff + i] = this.t[i]!;
  }
}

// ---- AES-128 (encryption only: ECB for header protection, CTR inside GCM) ---------------------------------------

const SBOX = new Uint8Array(256);
/** Round tables: TE0[x] = the column (2·S[x], S[x], S[x], 3·S[x]); TE1..3 the same rotated a byte each. */
const TE0 = new Uint32Array(256);
const TE1 = new Uint32Array(256);
const TE2 = new Uint32Array(256);
const TE3 = new Uint32Array(256);
const xtime = (a: number): number => ((a << 1) ^ (a & 0x80 ? 0x11b : 0)) & 0xff;
{
  // The S-box from its definition (FIPS-197 §5.1.1): the inverse in GF(2^8), then the affine map.
  const exp = new Uint8Array(256);
  const log = new Uint8Array(256);
  let x = 1;
  for (let i = 0; i < 255; i++) {
    exp[i] = x;
    log[x] = i;
    x ^= xtime(x); // times 3, a generator
  }
  for (let i = 0; i < 256; i++) {
    const inv = i === 0 ? 0 : exp[(255 - log[i]!) % 255]!;
    let s = inv;
    for (let r = 1; r <= 4; r++) s ^= ((inv << r) | (inv >> (8 - r))) & 0xff;
    SBOX[i] = s ^ 0x63;
  }
  for (let i = 0; i < 256; i++) {
    const s = SBOX[i]!;
    const s2 = xtime(s);
    const t = ((s2 << 24) | (s << 16) | (s << 8) | (s2 ^ s)) >>> 0;
    TE0[i] = t;
    TE1[i] = ((t >>> 8) | (t << 24)) >>> 0;
    TE2[i] = ((t >>> 16) | (t << 16)) >>> 0;
    TE3[i] = ((t >>> 24) | (t << 8)) >>> 0;
  }
}

/** AES-128 block encryption with a key set by `setKey` (its 44 round-key words kept). */
export class Aes128 {
  private readonly rk = new Uint32Array(44);

  setKey(key: Uint8Array, off: number): this {
    const rk = this.rk;
    for (let i = 0; i < 4; i++) rk[i] = (key[off + 4 * i]! << 24) | (key[off + 4 * i + 1]! << 16) | (key[off + 4 * i + 2]! << 8) | key[off + 4 * i + 3]!;
    let rcon = 1;
    for (let i = 4; i < 44; i++) {
      let t = rk[i - 1]!;
      if (i % 4 === 0) {
        t = ((SBOX[(t >>> 16) & 0xff]! << 24) | (SBOX[(t >>> 8) & 0xff]! << 16) | (SBOX[t & 0xff]! << 8) | SBOX[t >>> 24]!) ^ (rcon << 24);
        rcon = xtime(rcon);
      }
      rk[i] = rk[i - 4]! ^ t;
    }
    return this;
  }

  /** Encrypt the 16 bytes at `inp[inOff ..]` into `out[outOff ..]` (the two may be the same place). */
  encryptBlock(inp: Uint8Array, inOff: number, out: Uint8Array, outOff: number): void {
    const rk = this.rk;
    let s0 = ((inp[inOff]! << 24) | (inp[inOff + 1]! << 16) | (inp[inOff + 2]! << 8) | inp[inOff + 3]!) ^ rk[0]!;
    let s1 = ((inp[inOff + 4]! << 24) | (inp[inOff + 5]! << 16) | (inp[inOff + 6]! << 8) | inp[inOff + 7]!) ^ rk[1]!;
    let s2 = ((inp[inOff + 8]! << 24) | (inp[inOff + 9]! << 16) | (inp[inOff + 10]! << 8) | inp[inOff + 11]!) ^ rk[2]!;
    let s3 = ((inp[inOff + 12]! << 24) | (inp[inOff + 13]! << 16) | (inp[inOff + 14]! << 8) | inp[inOff + 15]!) ^ rk[3]!;
    for (let r = 1; r < 10; r++) {
      const k = 4 * r;
      const t0 = TE0[s0 >>> 24]! ^ TE1[(s1 >>> 16) & 0xff]! ^ TE2[(s2 >>> 8) & 0xff]! ^ TE3[s3 & 0xff]! ^ rk[k]!;
      const t1 = TE0[s1 >>> 24]! ^ TE1[(s2 >>> 16) & 0xff]! ^ TE2[(s3 >>> 8) & 0xff]! ^ TE3[s0 & 0xff]! ^ rk[k + 1]!;
      const t2 = TE0[s2 >>> 24]! ^ TE1[(s3 >>> 16) & 0xff]! ^ TE2[(s0 >>> 8) & 0xff]! ^ TE3[s1 & 0xff]! ^ rk[k + 2]!;
      const t3 = TE0[s3 >>> 24]! ^ TE1[(s0 >>> 16) & 0xff]! ^ TE2[(s1 >>> 8) & 0xff]! ^ TE3[s2 & 0xff]! ^ rk[k + 3]!;
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    // The last round: SubBytes and ShiftRows, no MixColumns.
    lastRound(out, outOff, s0, s1, s2, s3, rk[40]!);
    lastRound(out, outOff + 4, s1, s2, s3, s0, rk[41]!);
    lastRound(out, outOff + 8, s2, s3, s0, s1, rk[42]!);
    lastRound(out, outOff + 12, s3, s0, s1, s2, rk[43]!);
  }
}

function lastRound(out: Uint8Array, off: number, a: number, b: number, c: number, d: number, k: number): void {
  out[off] = SBOX[a >>> 24]! ^ (k >>> 24);
  out[off + 1] = SBOX[(b >>> 16) & 0xff]! ^ ((k >>> 16) & 0xff);
  out[off + 2] = SBOX[(c >>> 8) & 0xff]! ^ ((k >>> 8) & 0xff);
  out[off + 3] = SBOX[d & 0xff]! ^ (k & 0xff);
}

// ---- AES-128-GCM decryption ----------------------------------------------------------------------------------------

/**
 * GHASH's reduction of the 4 bits a right shift by 4 drops (SP 800-38D's R = 0xe1 || 0^120, shifted by 0 to 3),
 * as the top 16 bits of the first word.
 */
const GHASH_LAST4 = new Uint32Array(16);
for (let r = 0; r < 16; r++) for (let k = 0; k < 4; k++) if ((r >> k) & 1) GHASH_LAST4[r] = GHASH_LAST4[r]! ^ (0xe100 >>> (3 - k));

/** AES-128-GCM with a 12-byte nonce and a 16-byte tag: `setKey`, then `open` each message. */
export class Aes128Gcm {
  private readonly aes = new Aes128();
  /**
   * n·H for each 4-bit n (bits read most significant first, as GCM numbers them), as four big-endian words each
   * (word w of entry n at [4n + w]): GHASH takes 4 bits a step (the table method of the GCM paper, §4.1).
   */
  private readonly table = new Uint32Array(64);
  /** GHASH's running value, four big-endian words. */
  private readonly y = new Uint32Array(4);
  private readonly counter = new Uint8Array(16);
  private readonly stream = new Uint8Array(16);
  private readonly block = new Uint8Array(16);

  setKey(key: Uint8Array, off: number): this {
    this.aes.setKey(key, off);
    this.block.fill(0);
    this.aes.encryptBlock(this.block, 0, this.block, 0);
    const t = this.table;
    t.fill(0);
    // Entry 8 (bits 1000) is H; 4, 2, 1 are H·x, H·x^2, H·x^3 (each a right shift with reduction); the rest sums.
    let v0 = readU32(this.block, 0), v1 = readU32(this.block, 4), v2 = readU32(this.block, 8), v3 = readU32(this.block, 12);
    for (let i = 8; i >= 1; i >>= 1) {
      t[4 * i] = v0;
      t[4 * i + 1] = v1;
      t[4 * i + 2] = v2;
      t[4 * i + 3] = v3;
      const lsb = v3 & 1;
      v3 = (v3 >>> 1) | (v2 << 31);
      v2 = (v2 >>> 1) | (v1 << 31);
      v1 = (v1 >>> 1) | (v0 << 31);
      v0 = (v0 >>> 1) ^ (lsb ? 0xe1000000 : 0);
    }
    for (let i = 2; i <= 8; i *= 2) for (let j = 1; j < i; j++) for (let w = 0; w < 4; w++) t[4 * (i + j) + w] = t[4 * i + w]! ^ t[4 * j + w]!;
    return this;
  }

  /**
   * Authenticate and decrypt in place: the additional data `buf[aadOff .. aadOff+aadLen)`, the ciphertext
   * `buf[ctOff .. ctOff+ctLen)` followed by its 16-byte tag, the nonce `nonce[nonceOff .. +12)`. Returns false,
   * leaving the ciphertext as it was, when the tag does not match.
   */
  open(nonce: Uint8Array, nonceOff: number, buf: Uint8Array, aadOff: number, aadLen: number, ctOff: number, ctLen: number): boolean {
    if (aadLen < 0 || ctLen < 0 || ctOff + ctLen + 16 > buf.length) return false;
    const y = this.y;
    y.fill(0);
    this.ghash(buf, aadOff, aadLen);
    this.ghash(buf, ctOff, ctLen);
    // The lengths block: len(A) and len(C) in bits, 64 bits each.
    const b = this.block;
    writeU32(b, 0, Math.floor((aadLen * 8) / 2 ** 32));
    writeU32(b, 4, aadLen * 8);
    writeU32(b, 8, Math.floor((ctLen * 8) / 2 ** 32));
    writeU32(b, 12, ctLen * 8);
    this.ghashBlock(b, 0, 16);
    // Tag = E(K, J0) xor GHASH, J0 = nonce || 0x00000001.
    const ctr = this.counter;
    for (let i = 0; i < 12; i++) ctr[i] = nonce[nonceOff + i]!;
    writeU32(ctr, 12, 1);
    this.aes.encryptBlock(ctr, 0, this.stream, 0);
    let diff = 0;
    for (let i = 0; i < 4; i++) diff |= (readU32(this.stream, 4 * i) ^ y[i]! ^ readU32(buf, ctOff + ctLen + 4 * i)) >>> 0;
    if (diff !== 0) return false;
    // CTR from J0 + 1.
    for (let p = 0, n = 2; p < ctLen; p += 16, n++) {
      writeU32(ctr, 12, n);
      this.aes.encryptBlock(ctr, 0, this.stream, 0);
      const m = Math.min(16, ctLen - p);
      for (let i = 0; i < m; i++) buf[ctOff + p + i] = buf[ctOff + p + i]! ^ this.stream[i]!;
    }
    return true;
  }

  /** GHASH over `buf[off .. off+len)`, its last block padded with zeros. */
  private ghash(buf: Uint8Array, off: number, len: number): void {
    for (let p = 0; p < len; p += 16) this.ghashBlock(buf, off + p, Math.min(16, len - p));
  }

  /**
   * Y = (Y xor X) · H in GF(2^128): Horner over X's 4-bit pieces from the last, Z = Z·x^4 + n·H (the multiply by
   * x^4 is a right shift by 4, the bits it drops folded back by GHASH_LAST4).
   */
  private ghashBlock(buf: Uint8Array, off: number, len: number): void {
    const y = this.y;
    const b = this.block;
    if (buf !== b || off !== 0) {
      b.fill(0);
      for (let i = 0; i < len; i++) b[i] = buf[off + i]!;
    }
    for (let i = 0; i < 4; i++) writeU32(b, 4 * i, y[i]! ^ readU32(b, 4 * i));
    const t = this.table;
    let z0 = 0, z1 = 0, z2 = 0, z3 = 0;
    for (let i = 15; i >= 0; i--) {
      const x = b[i]!;
      for (let half = 0; half < 2; half++) {
        const n = half === 0 ? x & 0x0f : x >>> 4;
        const rem = z3 & 0x0f;
        z3 = (z3 >>> 4) | (z2 << 28);
        z2 = (z2 >>> 4) | (z1 << 28);
        z1 = (z1 >>> 4) | (z0 << 28);
        z0 = (z0 >>> 4) ^ (GHASH_LAST4[rem]! << 16);
        z0 ^= t[4 * n]!;
        z1 ^= t[4 * n + 1]!;
        z2 ^= t[4 * n + 2]!;
        z3 ^= t[4 * n + 3]!;
      }
    }
    y[0] = z0;
    y[1] = z1;
    y[2] = z2;
    y[3] = z3;
  }
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}
