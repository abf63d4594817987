/**
 * The QUIC Initial packet's cryptography (src/decode/quic-crypto.ts) on the published vectors: SHA-256 (FIPS 180-2
 * appendix B "abc"), HMAC-SHA256 (RFC 4231 test cases 1, 2 and 6), AES-128 (FIPS-197 appendix C.1), HKDF-Extract
 * and HKDF-Expand-Label (RFC 9001 appendix A.1); and against node:crypto on random inputs of every length around
 * the block boundaries, AES-128-GCM included (a wrong tag is refused and the data left as it was).
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Aes128, Aes128Gcm, Hkdf, HmacSha256, Sha256, expandLabelInfo } from '../src/decode/quic-crypto.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function sha256(m: Uint8Array): string {
  const out = new Uint8Array(32);
  new Sha256().update(m, 0, m.length).finish(out, 0);
  return hex(out);
}

function hmac(key: Uint8Array, m: Uint8Array): string {
  const out = new Uint8Array(32);
  new HmacSha256().setKey(key, 0, key.length).begin().update(m, 0, m.length).finish(out, 0);
  return hex(out);
}

describe('SHA-256 and HMAC-SHA256', () => {
  it('the published vectors', () => {
    expect(sha256(ascii('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    // RFC 4231 §4.2, §4.3, §4.7 (a key longer than the block is hashed first).
    expect(hmac(new Uint8Array(20).fill(0x0b), ascii('Hi There'))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    expect(hmac(ascii('Jefe'), ascii('what do ya want for nothing?'))).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(hmac(new Uint8Array(131).fill(0xaa), ascii('Test Using Larger Than Block-Size Key - Hash Key First'))).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  it('equal node:crypto on every length from 0 to 200 and random keys', () => {
    for (let n = 0; n <= 200; n++) {
      const m = randomBytes(n);
      expect(sha256(m)).toBe(createHash('sha256').update(m).digest('hex'));
      const key = randomBytes(n % 90);
      expect(hmac(key, m)).toBe(createHmac('sha256', key).update(m).digest('hex'));
    }
  });

  it('HKDF-Extract and HKDF-Expand-Label give RFC 9001 appendix A.1 keys', () => {
    const hkdf = new Hkdf();
    const initial = new Uint8Array(32);
    hkdf.extract(bytes('38762cf7f55934b34d179ae6a4c80cadccbb7f0a'), bytes('8394c8f03e515708'), 0, 8, initial, 0);
    expect(hex(initial)).toBe('7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44');
    const client = new Uint8Array(32);
    hkdf.expandLabel(initial, 0, expandLabelInfo('client in', 32), client, 0);
    expect(hex(client)).toBe('c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea');
    const out = new Uint8Array(16);
    hkdf.expandLabel(client, 0, expandLabelInfo('quic key', 16), out, 0);
    expect(hex(out)).toBe('1f369613dd76d5467730efcbe3b1a22d');
    hkdf.expandLabel(client, 0, expandLabelInfo('quic iv', 12), out, 0);
    expect(hex(out.subarray(0, 12))).toBe('fa044b2f42a3fd3b46fb255c');
    hkdf.expandLabel(client, 0, expandLabelInfo('quic hp', 16), out, 0);
    expect(hex(out)).toBe('9f50449e04a0e810283a1e9933adedd2');
  });
});

describe('AES-128 and AES-128-GCM', () => {
  it('FIPS-197 appendix C.1, and node:crypto aes-128-ecb on random blocks', () => {
    const out = new Uint8Array(16);
    new Aes128().setKey(bytes('000102030405060708090a0b0c0d0e0f'), 0).encryptBlock(bytes('00112233445566778899aabbccddeeff'), 0, out, 0);
    expect(hex(out)).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
    const aes = new Aes128();
    for (let t = 0; t < 100; t++) {
      const key = randomBytes(16);
      const block = randomBytes(16);
      aes.setKey(key, 0).encryptBlock(block, 0, out, 0);
      const c = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
      expect(hex(out)).toBe(Buffer.concat([c.update(block), c.final()]).toString('hex'));
    }
  });

  it('opens what node:crypto aes-128-gcm sealed, and refuses a changed tag, text or additional data', () => {
    const gcm = new Aes128Gcm();
    for (let t = 0; t < 60; t++) {
      const key = randomBytes(16);
      const iv = randomBytes(12);
      const aad = randomBytes((t * 7) % 41);
      const pt = randomBytes(t * 23);
      const c = createCipheriv('aes-128-gcm', key, iv);
      c.setAAD(aad);
      const ct = Buffer.concat([c.update(pt), c.final()]);
      const sealed = new Uint8Array(Buffer.concat([aad, ct, c.getAuthTag()]));
      gcm.setKey(key, 0);
      for (const flip of [sealed.length - 1, aad.length > 0 ? 0 : -1, ct.length > 0 ? aad.length : -1]) {
        if (flip < 0) continue;
        const bad = sealed.slice();
        bad[flip]! ^= 1;
        expect(gcm.open(iv, 0, bad, 0, aad.length, aad.length, ct.length)).toBe(false);
        bad[flip]! ^= 1;
        expect(hex(bad)).toBe(hex(sealed)); // left as it was
      }
      expect(gcm.open(iv, 0, sealed, 0, aad.length, aad.length, ct.length)).toBe(true);
      expect(hex(sealed.subarray(aad.length, aad.length + pt.length))).toBe(pt.toString('hex'));
    }
  });
});
