/**
 * JSON lines in the spirit of Suricata's EVE: one object per line, `event_type` `flow` for every completed flow
 * and `alert` for every flow whose verdict is not the model's benign class (alert first, then its flow line, both
 * with the same `flow_id`). Each line carries the flow's identity, its Community ID, the sensor and input, the
 * flow summary with why it ended, the verdict, and optionally every CIC feature.
 *
 * A slow reader never loses lines silently. By default (replay) write() returns a promise while the stream's
 * buffer is over its high-water mark, so the pipeline waits. With `dropAboveBytes` (live: the capture must not
 * wait for a slow disk) a batch that would grow the buffer beyond that is dropped whole, and counted
 * (`linesDropped`), and `onDrop` is told.
 *
 * Ownership: write() formats the batch before it returns, as CsvSink does.
 */
import { FLOW_END_NAMES, payloadProtocolOf, serverName, serverNameSource, type FlowRows, type FlowSink, type ProfileColumns } from './flow-rows.js';
import { TextOutput } from './text-output.js';
import { IdentityText } from '../features/identity-text.js';
import { communityId } from './community-id.js';
import { resolveInputs } from '../classify/feature-names.js';

export interface JsonSinkOptions {
  /** `sensor` field: the host name, or --sensor-name. */
  sensor: string;
  /** Live: the interface, written as `in_iface`. Replay: absent; `pcap_file` is the batch's capture file. */
  iface?: string;
  /** The model's benign class: verdicts with another label are alerts. Absent (no model): no alerts. */
  benignClass?: string;
  /** Write only `alert` lines. */
  alertsOnly?: boolean;
  /** Add every CIC feature under `features`. */
  features?: boolean;
  /** Append to an existing file (live) instead of truncating it. */
  append?: boolean;
  /** Live: drop (and count) a batch rather than buffer more than this many bytes for a slow file. */
  dropAboveBytes?: number;
  /** Called with the number of lines of each dropped batch. */
  onDrop?: (lines: number) => void;
  /** `flow_id` counter, shared by the sinks of one run so a reopened file continues the sequence. */
  flowIds?: { next: number };
  /** Stream buffer size before write() applies backpressure (default 1 MiB). */
  highWaterMark?: number;
}

const PROTO_NAMES: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'IPv6-ICMP', 132: 'SCTP' };

/** `2026-12-06T15:57:50.123456Z` from microseconds since the epoch. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = Math.round(us - ms * 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/**
 * The `verdict` object of row i: every verdict field the batch carries (the attack model's, then the application
 * model's), null where it has none; null when no model ran. Field names are the verdict contract's JSON spelling.
 */
function verdictJson(rows: FlowRows, i: number): Record<string, string | number | null> | null {
  if (rows.model === undefined && rows.appModel === undefined) return null;
  return {
    label: rows.labels?.[i] ?? null,
    score: rows.scores?.[i] ?? null,
    model: rows.model ?? null,
    attack_label: rows.attackLabels?.[i] ?? null,
    attack_score: rows.attackScores?.[i] ?? null,
    kdd: rows.kdd?.[i] ?? null,
    app_group: rows.appLabels?.[i] ?? null,
    app_score: rows.appScores?.[i] ?? null,
    app_model: rows.appModel ?? null,
    context: rows.context?.[i] ?? null,
  };
}

export class JsonSink implements FlowSink {
  private readonly file: TextOutput;
  private readonly flowIds: { next: number };
  /** `"name":` of each feature (`Fwd Header Length.1` for cic2017's second copy), when features are written. */
  private readonly featureKeys: string[] | null;
  private readonly summaryAt: number[];
  /** The identity's text, made once per event written. */
  private readonly identity: IdentityText;
  /** Lines written (accepted by the stream), by event type. */
  readonly lines = { flow: 0, alert: 0 };
  /** Lines dropped because the file could not keep up (live only). */
  linesDropped = 0;

  /** Opens (truncates, or appends) `path`; throws SinkError (directory-missing, not-writable, write-failed). */
  constructor(
    readonly path: string,
    private readonly columns: ProfileColumns,
    private readonly opts: JsonSinkOptions,
  ) {
    this.file = new TextOutput(path, 'JSON sink', { append: opts.append, highWaterMark: opts.highWaterMark });
    this.flowIds = opts.flowIds ?? { next: 1 };
    this.identity = new IdentityText(columns.identityFormat);
    const { sources } = resolveInputs(['Total Fwd Packets', 'Total Backward Packets', 'Total Length of Fwd Packets', 'Total Length of Bwd Packets'], columns);
    this.summaryAt = sources.map((s) => (s.from === 'feature' ? s.index : -1));
    if (this.summaryAt.length !== 4 || this.summaryAt.includes(-1)) throw new Error(`profile ${columns.name} lacks the packet/byte totals`);
    if (opts.features === true) {
      const seen = new Map<string, number>();
      this.featureKeys = columns.featureNames.map((n) => {
        const k = n.trim();
        const copies = seen.get(k) ?? 0;
        seen.set(k, copies + 1);
        return `${JSON.stringify(copies === 0 ? k : `${k}.${copies}`)}:`;
      });
    } else this.featureKeys = null;
  }

  /** Bytes queued for the file and not yet written. */
  get buffered(): number {
    return this.file.buffered;
  }

  write(rows: FlowRows): void | Promise<void> {
    this.file.check();
    if (rows.count === 0) return;
    const { text, flows, alerts } = this.format(rows);
    const limit = this.opts.dropAboveBytes;
    const queued = this.file.buffered;
    if (limit !== undefined && queued > 0 && queued + text.length > limit) {
      this.linesDropped += flows + alerts;
      this.opts.onDrop?.(flows + alerts);
      return;
    }
    this.lines.flow += flows;
    this.lines.alert += alerts;
    if (text === '') return;
    if (this.file.push(text) || limit !== undefined) return;
    return this.file.drained();
  }

  /**
   * The lines of a batch, and how many of each event type (exposed for tests). Built as text (a few µs per flow,
   * half of JSON.stringify on objects): every value that can hold arbitrary text goes through JSON.stringify.
   */
  format(rows: FlowRows): { text: string; flows: number; alerts: number } {
    const F = this.columns.featureNames.length;
    const [fwdPkts, bwdPkts, fwdBytes, bwdBytes] = this.summaryAt as [number, number, number, number];
    const input = this.opts.iface !== undefined ? `,"in_iface":${JSON.stringify(this.opts.iface)}` : rows.source !== undefined ? `,"pcap_file":${JSON.stringify(rows.source)}` : '';
    const sensor = JSON.stringify(this.opts.sensor);
    const keys = this.featureKeys;
    const f = rows.features;
    let text = '';
    let flows = 0;
    let alerts = 0;
    for (let i = 0; i < rows.count; i++) {
      const base = i * F;
      const flowId = this.flowIds.next++;
      const verdict = verdictJson(rows, i);
      const alert = verdict !== null && this.opts.benignClass !== undefined && verdict.label !== null && verdict.label !== this.opts.benignClass;
      if (this.opts.alertsOnly === true && !alert) continue;
      const id = this.identity.read(rows, i);
      const srcPort = rows.srcPorts[i]!;
      const dstPort = rows.dstPorts[i]!;
      const startUs = rows.startUs[i]!;
      const endUs = rows.endUs[i]!;
      const proto = rows.ipProtos?.[i] ?? rows.protocols[i]!;
      const icmp = proto === 1 || proto === 58;
      const ports = proto === 6 || proto === 17 || proto === 132;
      const reason = rows.endReasons?.[i];
      const cid = communityId({
        srcIp: id.srcIp,
        dstIp: id.dstIp,
        proto,
        srcPort,
        dstPort,
        icmpType: rows.icmpTypes?.[i] ?? 0,
        icmpCode: rows.icmpCodes?.[i] ?? 0,
      });
      const end = isoMicros(endUs);
      const head = `{"timestamp":"${end}","flow_id":${flowId},"event_type":"`;
      let rest =
        `","community_id":"${cid}","src_ip":"${id.srcIp}","src_port":${ports ? srcPort : null},"dest_ip":"${id.dstIp}",` +
        `"dest_port":${ports ? dstPort : null},"proto":"${PROTO_NAMES[proto] ?? String(proto)}"` +
        (icmp ? `,"icmp_type":${rows.icmpTypes?.[i] ?? null},"icmp_code":${rows.icmpCodes?.[i] ?? null}` : '') +
        `,"sensor":${sensor}${input},"cic_flow_id":${JSON.stringify(id.flowId)},"server_name":${JSON.stringify(serverName(rows, i))},` +
        `"server_name_source":${JSON.stringify(serverNameSource(rows, i))},"payload_protocol":${JSON.stringify(payloadProtocolOf(rows, i))},` +
        `"flow":{"pkts_toserver":${f[base + fwdPkts]},` +
        `"pkts_toclient":${f[base + bwdPkts]},"bytes_toserver":${f[base + fwdBytes]},"bytes_toclient":${f[base + bwdBytes]},` +
        `"start":"${isoMicros(startUs)}","end":"${end}","age":${(endUs - startUs) / 1e6},` +
        `"reason":${reason === undefined || FLOW_END_NAMES[reason] === undefined ? null : `"${FLOW_END_NAMES[reason]}"`}},` +
        `"verdict":${JSON.stringify(verdict)}`;
      if (keys !== null) {
        // JSON has no NaN or Infinity (CIC's rates of a zero-length flow): those are null.
        rest += ',"features":{';
        for (let j = 0; j < F; j++) {
          const v = f[base + j]!;
          rest += `${j === 0 ? '' : ','}${keys[j]}${Number.isFinite(v) ? v : null}`;
        }
        rest += '}';
      }
      rest += '}\n';
      if (alert) {
        text += `${head}alert${rest}`;
        alerts++;
      }
      if (this.opts.alertsOnly !== true) {
        text += `${head}flow${rest}`;
        flows++;
      }
    }
    return { text, flows, alerts };
  }

  flush(): Promise<void> {
    return this.file.sync();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
