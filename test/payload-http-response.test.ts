/**
 * An HTTP flow refined by its server's answer (httpResponseKind in src/decode/payload-protocol.ts, and
 * src/flows/payload-protocols.ts going on looking once a request made a flow HTTP): a response whose Content-Type is a
 * file download is HTTP_Download, audio or video HTTP_Media, any other type plain HTTP. Responses built here from RFC
 * 9112 §4 and RFC 9110 §8.3, with near misses that must not refine; every truncation never throws.
 */
import { describe, expect, it } from 'vitest';
import { httpResponseKind, matchPayload, PAYLOAD_PROTOCOLS, payloadProtocolName } from '../src/decode/payload-protocol.js';
import { PAYLOAD_LOOK_PACKETS, PayloadProtocols } from '../src/flows/payload-protocols.js';
import { ascii, collectionsDuring, HTTP_DOWNLOAD_TYPES, TCP } from './helpers/payload-cases.js';

/** A response: status line, the given field lines, the empty line, a body. */
const response = (fields: string[], status = 'HTTP/1.1 200 OK'): number[] => ascii(`${status}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\nbody`);
const GET = ascii('GET /file HTTP/1.1\r\nHost: files.example\r\n\r\n');

/** What httpResponseKind says of `bytes`, as a name ('none' for 0). */
function kind(bytes: number[]): string {
  return payloadProtocolName(httpResponseKind(Uint8Array.from(bytes), 0, bytes.length)) ?? 'none';
}

describe('httpResponseKind: what a response says it carries', () => {
  it('the two refinements are appended after round six, each once (ids are stored and read by models)', () => {
    expect(PAYLOAD_PROTOCOLS.slice(PAYLOAD_PROTOCOLS.indexOf('FLUTE') + 1, PAYLOAD_PROTOCOLS.indexOf('FLUTE') + 3)).toEqual(['HTTP_Download', 'HTTP_Media']);
    expect(PAYLOAD_PROTOCOLS.filter((n) => n.startsWith('HTTP_')).length).toBe(2);
  });

  it.each(HTTP_DOWNLOAD_TYPES)('Content-Type %s: a download', (type) => {
    expect(kind(response(['Server: x', `Content-Type: ${type}`, 'Content-Length: 4']))).toBe('HTTP_Download');
  });

  it.each(['audio/mpeg', 'video/mp4', 'video/MP2T', 'application/mpeg'])('Content-Type %s: media', (type) => {
    expect(kind(response([`Content-Type: ${type}`]))).toBe('HTTP_Media');
  });

  it('any other media type: plain HTTP', () => {
    for (const type of ['text/html', 'application/json', 'image/jpeg', 'application/octet-streamer', 'application/zip', 'audio', 'audio/']) {
      expect([type, kind(response([`Content-Type: ${type}`]))]).toEqual([type, 'HTTP']);
    }
  });

  it('names and types without case, parameters and whitespace as RFC 9110 allows, HTTP/1.0 too', () => {
    expect(kind(response(['content-TYPE:\tApplication/Octet-Stream ; charset=binary']))).toBe('HTTP_Download');
    expect(kind(response(['Content-Type:application/octet-stream;x=1']))).toBe('HTTP_Download');
    expect(kind(response(['Content-Type: VIDEO/webm; codecs="vp9"'], 'HTTP/1.0 206 Partial Content'))).toBe('HTTP_Media');
    expect(kind(response(['Content-Type: application/octet-stream'], 'HTTP/1.1 200'))).toBe('HTTP_Download');
  });

  it('near misses: no Content-Type, one in the body, a name that only ends so, a space before the colon, a cut value', () => {
    expect(kind(response(['Content-Length: 4']))).toBe('none');
    expect(kind([...response(['Content-Length: 4']).slice(0, -4), ...ascii('Content-Type: video/mp4\r\n')])).toBe('none');
    expect(kind(response(['X-Content-Type: video/mp4']))).toBe('none');
    expect(kind(response(['Content-Type : video/mp4']))).toBe('none');
    const cut = ascii('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream');
    expect(kind(cut)).toBe('none');
  });

  it('near misses: not a status line (a request, HTTP/2, RTSP, a bad code)', () => {
    const fields = ['Content-Type: application/octet-stream'];
    expect(kind([...GET.slice(0, -2), ...ascii(`${fields[0]}\r\n\r\n`)])).toBe('none');
    expect(kind(response(fields, 'HTTP/2 200 OK'))).toBe('none');
    expect(kind(response(fields, 'RTSP/1.0 200 OK'))).toBe('none');
    expect(kind(response(fields, 'HTTP/1.1 2000 OK'))).toBe('none');
  });

  it('reads only the given range, and every truncation of every case is a known answer, never a throw', () => {
    const all = [response(['Content-Type: application/octet-stream']), response(['Content-Type: video/mp4; a=b']), response(['Content-Type: text/html'])];
    for (const bytes of all) {
      const full = kind(bytes);
      const big = Uint8Array.from([0x47, ...bytes, ...ascii('\r\nContent-Type: video/mp4\r\n\r\n')]);
      for (let n = 0; n < bytes.length; n++) {
        const got = payloadProtocolName(httpResponseKind(big, 1, 1 + n)) ?? 'none';
        // Cut before the type's end: nothing; after it: the whole answer.
        expect(['none', full]).toContain(got);
        expect(got).toBe(kind(bytes.slice(0, n)));
      }
      expect(payloadProtocolName(httpResponseKind(big, 1, 1 + bytes.length))).toBe(full);
    }
  });
});

describe('an HTTP flow looks on for its answer (flows/payload-protocols.ts)', () => {
  const flows = (): PayloadProtocols => {
    const p = new PayloadProtocols(4);
    p.reset(2);
    return p;
  };
  const look = (p: PayloadProtocols, bytes: number[], fromClient: boolean): boolean => p.look(2, fromClient, Uint8Array.from(bytes), 0, bytes.length, TCP, fromClient ? 40000 : 80, fromClient ? 80 : 40000);
  const name = (p: PayloadProtocols): string | null => payloadProtocolName(p.ids[2]!);

  it('the request makes it HTTP; the response refines it and ends the looking', () => {
    const p = flows();
    expect(payloadProtocolName(matchPayload(Uint8Array.from(GET), 0, GET.length, TCP, 40000, 80))).toBe('HTTP');
    expect(look(p, GET, true)).toBe(true);
    expect([name(p), p.looking[2]]).toEqual(['HTTP', 1]);
    expect(look(p, response(['Content-Type: application/octet-stream']), false)).toBe(true);
    expect([name(p), p.looking[2]]).toEqual(['HTTP_Download', 0]);
    expect(look(p, response(['Content-Type: video/mp4']), false)).toBe(false);
    expect(name(p)).toBe('HTTP_Download');
  });

  it('a response without a Content-Type does not end it; the next one with one decides, plain HTTP too', () => {
    const p = flows();
    look(p, GET, true);
    expect(look(p, response([], 'HTTP/1.1 204 No Content'), false)).toBe(false);
    look(p, GET, true);
    expect(look(p, response(['Content-Type: audio/ogg']), false)).toBe(true);
    expect(name(p)).toBe('HTTP_Media');
    const q = flows();
    look(q, GET, true);
    expect(look(q, response(['Content-Type: text/html']), false)).toBe(true);
    expect([name(q), q.looking[2]]).toEqual(['HTTP', 0]);
  });

  it(`no answer within ${PAYLOAD_LOOK_PACKETS} more packets each way: HTTP, and the looking ends`, () => {
    const p = flows();
    look(p, GET, true);
    const body = ascii('more body bytes');
    for (let k = 0; k < PAYLOAD_LOOK_PACKETS; k++) {
      expect(p.looking[2]).toBe(1);
      look(p, body, false);
      look(p, body, true);
    }
    expect([name(p), p.looking[2]]).toEqual(['HTTP', 0]);
    expect(look(p, response(['Content-Type: video/mp4']), false)).toBe(false);
    expect(name(p)).toBe('HTTP');
  });

  it('a capture that starts with the response: its own Content-Type decides at once', () => {
    const p = flows();
    expect(look(p, response(['Content-Type: application/x-msdownload']), false)).toBe(true);
    expect([name(p), p.looking[2]]).toEqual(['HTTP_Download', 0]);
    const q = flows();
    expect(look(q, response(['Content-Length: 0']), false)).toBe(true);
    expect([name(q), q.looking[2]]).toEqual(['HTTP', 1]);
  });

  it('SOAP and MpegDash, named by their request, are not refined', () => {
    const p = flows();
    const mpd = ascii('GET /live/manifest.mpd HTTP/1.1\r\nHost: v.example\r\n\r\n');
    expect(look(p, mpd, true)).toBe(true);
    expect([name(p), p.looking[2]]).toEqual(['MpegDash', 0]);
  });

  it('allocates nothing once warm: no garbage collection over a million flows looked at', async () => {
    const p = new PayloadProtocols(4);
    const packets = [GET, response(['Content-Type: application/octet-stream']), response(['Content-Type: video/mp4; a=b']), response(['Content-Type: text/html']), response([])].map((b) => Uint8Array.from(b));
    const run = (rounds: number): number => {
      let sum = 0;
      for (let r = 0; r < rounds; r++) {
        const slot = r & 3;
        p.reset(slot);
        const answer = packets[1 + (r % 4)]!;
        p.look(slot, true, packets[0]!, 0, packets[0]!.length, TCP, 40000, 80);
        p.look(slot, false, answer, 0, answer.length, TCP, 80, 40000);
        sum += p.ids[slot]!;
      }
      return sum;
    };
    expect(await collectionsDuring(run, 1e6)).toEqual([]);
  });
});
