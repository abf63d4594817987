/**
 * LiveSource on its own: argument checks (anyone), and, as root, the batch protocol a caller relies on, on the
 * loopback interface: nextAsync() gives 0 on a quiet link after its timeout, a batch with the right frames and
 * nanosecond timestamps when traffic comes, -1 once stop() has drained everything; stats count what arrived.
 * The loopback part is skipped, with the reason, when not root or when capture is not permitted.
 */
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { LiveSource } from '../src/sources/live-source.js';
import { CaptureError, Meta, META_STRIDE } from '../src/sources/batch.js';
import { describeLive } from './helpers/live-lab.js';

describe('LiveSource.open: arguments', () => {
  it('refuses bad interface names and options before touching libpcap', () => {
    expect(() => LiveSource.open('')).toThrow(new TypeError('interface must not be empty'));
    expect(() => LiveSource.open(3 as unknown as string)).toThrow(new TypeError('interface must be a string'));
    expect(() => LiveSource.open('eth0/1')).toThrow(TypeError);
    expect(() => LiveSource.open('a-very-long-interface-name')).toThrow(/at most 15 characters/);
    expect(() => LiveSource.open('lo', { snaplen: 10 })).toThrow(new RangeError('snaplen must be between 64 and 262144, got 10'));
    expect(() => LiveSource.open('lo', { bufferSize: 1.5 })).toThrow(new TypeError('bufferSize must be an integer, got 1.5'));
    expect(() => LiveSource.open('lo', { promiscuous: 1 as unknown as boolean })).toThrow(new TypeError('promiscuous must be a boolean'));
    expect(() => LiveSource.open('lo', { snaplen: 262144, batchBytes: 65536 })).toThrow(/batchBytes \(65536\) must be at least snaplen \(262144\)/);
    expect(() => LiveSource.open('lo', { colour: 'red' } as never)).toThrow(new TypeError('unknown option "colour"'));
  });
});

describeLive('LiveSource on lo (root)', ['root', 'capture'], () => {
  it('a missing interface is CaptureError not-found naming it', () => {
    let err: unknown;
    try {
      LiveSource.open('nosuch7x');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).kind).toBe('not-found');
    expect((err as CaptureError).message).toMatch(/^nosuch7x: no such interface \(present: .*lo.*\)$/);
  });

  it('ticks with 0 when quiet, delivers a batch when traffic comes, ends with -1 after stop()', async () => {
    const port = 40000 + Math.floor(Math.random() * 20000);
    const src = LiveSource.open('lo', { filter: `udp dst port ${port}`, bufferSize: 4 << 20 });
    try {
      expect(src.linkType).toBe(1);
      expect(src.nanosecond).toBe(true);
      const t0 = performance.now();
      expect(await src.nextAsync(200)).toBe(0);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(190);

      const sock = createSocket('udp4');
      const sentAt = Date.now();
      for (let i = 0; i < 50; i++) await new Promise<void>((r) => sock.send(Buffer.from([i, 1, 2, 3]), port, '127.0.0.1', () => r()));
      sock.close();

      const seen: number[] = [];
      let n: number;
      const deadline = Date.now() + 5000;
      while (seen.length < 50 && Date.now() < deadline) {
        n = await src.nextAsync(1000);
        for (let i = 0; i < n; i++) {
          const m = i * META_STRIDE;
          const off = src.meta[m + Meta.Offset]!;
          const len = src.meta[m + Meta.CapLen]!;
          expect(len).toBe(14 + 20 + 8 + 4); // Ethernet (lo) + IPv4 + UDP + 4 bytes
          seen.push(src.data[off + len - 4]!); // our counter byte
          const tsMs = src.meta[m + Meta.TsSec]! * 1000 + src.meta[m + Meta.TsNsec]! / 1e6;
          expect(Math.abs(tsMs - sentAt)).toBeLessThan(5000);
          expect(src.meta[m + Meta.TsNsec]!).toBeLessThan(1e9);
        }
      }
      expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));

      src.stop();
      const deadline2 = Date.now() + 5000;
      while ((n = await src.nextAsync(500)) >= 0 && Date.now() < deadline2) expect(n).toBe(0);
      expect(n).toBe(-1);
      expect(src.ended).toBe(true);
      const st = src.stats();
      expect(st.captured).toBe(50);
      // On lo the kernel counts the outgoing and the incoming copy of each datagram; libpcap hands over one.
      expect(st.received).toBe(100);
      expect(st.dropped).toBe(0);
      expect(st.discardedAtClose).toBe(0);
      expect(src.packetsRead).toBe(50);
      expect(src.warning).toBeUndefined();
    } finally {
      src.close();
    }
    expect(await src.nextAsync(10)).toBe(-1);
    expect(src.stats().captured).toBe(50); // readable after close
  });

  it('one nextAsync() at a time', async () => {
    const src = LiveSource.open('lo', { filter: 'udp dst port 9', bufferSize: 1 << 20 });
    try {
      const first = src.nextAsync(100);
      await expect(src.nextAsync(100)).rejects.toThrow('nextAsync() is already waiting');
      expect(await first).toBe(0);
    } finally {
      src.close();
    }
  });
});
