/**
 * The server name of each open flow (decode/server-name.ts reads it), in typed arrays indexed by flow slot: a name
 * slab of SERVER_NAME_MAX bytes a slot, its length, and per direction the payload packets already looked at. The
 * engine looks only while the flow has no name and has sent fewer than LOOK_PACKETS payload packets that way, so a
 * long flow costs one comparison a packet. Reset when a flow starts in the slot; nothing allocated after
 * construction (the slab's pages are committed only as names are written).
 *
 * A connection the profile cuts into several flows (the 2017 build ends a flow at the first FIN and the packets
 * after it make another; every profile cuts at the flow timeout) names all of them: an ended flow's name is kept
 * in a small memory of recent conversations (direct-mapped by the flow key's hash, RECENT entries, overwritten),
 * and a flow that starts with the same key within RECENT_US of its end takes it. It keeps looking, and a name of
 * its own (a new DNS query on the same ports) replaces the one it took.
 *
 * A flow with neither may be given the name a DNS answer gave for its server's address (`give`, from
 * flows/address-names.ts); a name read later from its own packets replaces that one too. Each name keeps where it
 * came from (ServerNameSource), and a name carried over keeps `dns` when that is where it came from.
 */
import { QuicInitialReader, isQuicInitialCandidate } from '../decode/quic-initial.js';
import { SERVER_NAME_MAX, ServerNameRead, ServerNameReader } from '../decode/server-name.js';
import { PROTO_UDP } from '../decode/transport.js';
import { KEY_WORDS } from './flow-table.js';

/** Payload packets looked at in each direction before giving up (the contract's bound). */
export const LOOK_PACKETS = 4;
/** Recent conversations remembered (a power of two), and how long after its end a flow's name is taken over. */
export const RECENT = 1 << 14;
export const RECENT_US = 120e6;

/** Where a flow's name came from: its own packets, an earlier flow of its conversation, a DNS answer. */
export const ServerNameSource = { None: 0, Flow: 1, Carried: 2, Dns: 3 } as const;
export type ServerNameSource = (typeof ServerNameSource)[keyof typeof ServerNameSource];
/** The sources as the outputs spell them (`server_name_source`), by code; None has no text. */
export const SERVER_NAME_SOURCE_NAMES: readonly (string | null)[] = [null, 'flow', 'carried', 'dns'];

/** Where the reads are counted: indices into the engine's counters (engine/counters.ts). */
export interface NameCounters {
  counts: Float64Array;
  /** Names kept (truncated ones included). */
  found: number;
  /** Names longer than SERVER_NAME_MAX, kept cut. */
  truncated: number;
  /** Names with a byte outside printable ASCII, dropped (the flow keeps no name). */
  notPrintable: number;
  /** Of the names kept, those read from QUIC (an Initial's ClientHello, Google QUIC's CHLO). */
  quic: number;
}

export class ServerNames {
  /** Per slot: SERVER_NAME_MAX bytes. */
  readonly bytes: Uint8Array;
  /** Per slot: the name's length, 0 = none yet. */
  readonly lengths: Uint8Array;
  /** Per slot: the name's ServerNameSource. */
  readonly sources: Uint8Array;
  /** Per slot and endpoint (2 × slot + 0 from endpoint A, + 1 from B): payload packets looked at; 0xff = done. */
  private readonly looked: Uint8Array;
  private readonly reader = new ServerNameReader();
  /** QUIC flows: the ClientHello in the client's Initial packets, put together across packets (decode/quic-initial.ts). */
  private readonly quic = new QuicInitialReader(this.reader);
  /** Where a read is written before it is kept (a name taken over stays whole when a read fails half-way). */
  private readonly scratch = new Uint8Array(SERVER_NAME_MAX);
  /** The memory of recent conversations: per entry its key, its name and length, and when its flow ended (µs). */
  private readonly recentKeys = new Uint32Array(RECENT * KEY_WORDS);
  private readonly recentNames = new Uint8Array(RECENT * SERVER_NAME_MAX);
  private readonly recentLengths = new Uint8Array(RECENT);
  private readonly recentEnds = new Float64Array(RECENT);
  private readonly recentSources = new Uint8Array(RECENT);

  constructor(
    capacity: number,
    private readonly counters: NameCounters,
  ) {
    this.bytes = new Uint8Array(capacity * SERVER_NAME_MAX);
    this.lengths = new Uint8Array(capacity);
    this.sources = new Uint8Array(capacity);
    this.looked = new Uint8Array(capacity * 2);
  }

  /** A new flow in `slot`: no name, nothing looked at. */
  reset(slot: number): void {
    this.lengths[slot] = 0;
    this.looked[2 * slot] = 0;
    this.looked[2 * slot + 1] = 0;
  }

  /**
   * A new flow in `slot` whose key (`keys`, FlowTable's, with its `hash`) starts at `startUs`: reset, then the name
   * of the same conversation's flow that ended within RECENT_US, if it is remembered.
   */
  start(slot: number, keys: Uint32Array, hash: number, startUs: number): void {
    this.reset(slot);
    const e = hash & (RECENT - 1);
    const n = this.recentLengths[e]!;
    if (n === 0 || startUs - this.recentEnds[e]! > RECENT_US || !sameKey(this.recentKeys, e * KEY_WORDS, keys, slot * KEY_WORDS)) return;
    this.bytes.set(this.recentNames.subarray(e * SERVER_NAME_MAX, e * SERVER_NAME_MAX + n), slot * SERVER_NAME_MAX);
    this.lengths[slot] = n;
    this.sources[slot] = this.recentSources[e] === ServerNameSource.Dns ? ServerNameSource.Dns : ServerNameSource.Carried;
  }

  /** Name the flow in `slot`, which has none, with `name[0 .. n)` from a DNS answer for its server's address. */
  give(slot: number, name: Uint8Array, n: number): void {
    const to = slot * SERVER_NAME_MAX;
    for (let k = 0; k < n; k++) this.bytes[to + k] = name[k]!;
    this.lengths[slot] = n;
    this.sources[slot] = ServerNameSource.Dns;
  }

  /** The flow in `slot` (key and hash as in `start`) ends at `endUs`: remember its name, if it has one. */
  remember(slot: number, keys: Uint32Array, hash: number, endUs: number): void {
    const n = this.lengths[slot]!;
    if (n === 0) return;
    const e = hash & (RECENT - 1);
    this.recentKeys.set(keys.subarray(slot * KEY_WORDS, slot * KEY_WORDS + KEY_WORDS), e * KEY_WORDS);
    this.recentNames.set(this.bytes.subarray(slot * SERVER_NAME_MAX, slot * SERVER_NAME_MAX + n), e * SERVER_NAME_MAX);
    this.recentLengths[e] = n;
    this.recentEnds[e] = endUs;
    this.recentSources[e] = this.sources[slot]!;
  }

  /**
   * A packet of the flow in `slot`, sent by endpoint A (`fromA`) or B, with `payload` > 0 bytes at `buf[start ..]`:
   * read it when the flow still looks for its name.
   */
  look(slot: number, fromA: boolean, buf: Uint8Array, start: number, payload: number, proto: number, srcPort: number, dstPort: number): void {
    const k = 2 * slot + (fromA ? 0 : 1);
    if (this.looked[k]! >= LOOK_PACKETS) return;
    this.looked[k]!++;
    const quic = proto === PROTO_UDP && isQuicInitialCandidate(buf, start, start + payload);
    let r = quic ? this.quic.read(slot, buf, start, start + payload, this.scratch, 0) : ServerNameRead.None;
    const fromQuic = r !== ServerNameRead.None;
    if (!fromQuic) r = this.reader.read(buf, start, start + payload, proto, srcPort, dstPort, this.scratch, 0);
    if (r === ServerNameRead.None) return;
    // The first name ends the search, kept or not.
    this.looked[2 * slot] = 0xff;
    this.looked[2 * slot + 1] = 0xff;
    const c = this.counters;
    if (r === ServerNameRead.NotPrintable) {
      c.counts[c.notPrintable]!++;
      return;
    }
    this.lengths[slot] = this.reader.length;
    this.sources[slot] = ServerNameSource.Flow;
    this.bytes.set(this.scratch.subarray(0, this.reader.length), slot * SERVER_NAME_MAX);
    c.counts[c.found]!++;
    if (r === ServerNameRead.Truncated) c.counts[c.truncated]!++;
    if (fromQuic) c.counts[c.quic]!++;
  }

  /** Copy the name of `slot` to row `i` of a batch's name columns (flow-batch.ts). */
  copyTo(slot: number, lengths: Uint8Array, bytes: Uint8Array, sources: Uint8Array, i: number): void {
    const n = this.lengths[slot]!;
    lengths[i] = n;
    sources[i] = n === 0 ? ServerNameSource.None : this.sources[slot]!;
    const from = slot * SERVER_NAME_MAX;
    const to = i * SERVER_NAME_MAX;
    for (let k = 0; k < n; k++) bytes[to + k] = this.bytes[from + k]!;
  }
}

function sameKey(a: Uint32Array, aOff: number, b: Uint32Array, bOff: number): boolean {
  for (let k = 0; k < KEY_WORDS; k++) if (a[aOff + k] !== b[bOff + k]) return false;
  return true;
}
