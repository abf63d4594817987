/**
 * The `Payload Protocol Class` input (src/classify/payload-protocol-class.ts): its values, the card's
 * payload_protocols list and its refusals, and a model that reads only this input run end to end over captures
 * whose flows the engine recognises (fixtures/payload: SIP with RTP and RTCP, STUN turning into DTLS).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYLOAD_PROTOCOLS } from '../src/decode/payload-protocol.js';
import { payloadProtocolValues, payloadProtocolValueOfText } from '../src/classify/payload-protocol-class.js';
import { InputBuilder, PAYLOAD_PROTOCOL_INPUT } from '../src/classify/input.js';
import { findPython } from './helpers/python.js';
import { ROOT, sensor } from './helpers/cli.js';
import { cardErrors, expectRefusals, expectVerdictsByValue, makeOneInputModel, oneInputCard } from './helpers/one-input-model.js';

/** The rule written plainly: 0 none, k + 1 the list's k-th, length + 1 a protocol not listed. */
function byRule(name: string | null, list: string[]): number {
  if (name === null) return 0;
  const k = list.indexOf(name);
  return k >= 0 ? k + 1 : list.length + 1;
}

describe('Payload Protocol Class: the value of a flow\'s protocol', () => {
  it('every engine protocol id, for several lists, gets the rule\'s value, in the inference thread\'s builder too', () => {
    for (const list of [['SIP', 'RTP', 'STUN'], [], [...PAYLOAD_PROTOCOLS].reverse(), ['TLS']]) {
      const values = payloadProtocolValues(list);
      expect(values.length).toBe(PAYLOAD_PROTOCOLS.length + 1);
      expect(values[0]).toBe(0);
      PAYLOAD_PROTOCOLS.forEach((name, k) => expect({ name, v: values[k + 1] }).toEqual({ name, v: byRule(name, list) }));
      for (const name of [null, ...PAYLOAD_PROTOCOLS]) expect(payloadProtocolValueOfText(list, name)).toBe(byRule(name, list));
      // The builder reads the id from the identity column and writes the value, next to a feature column.
      const ids = Float64Array.from({ length: PAYLOAD_PROTOCOLS.length + 1 }, (_, i) => i);
      const features = Float64Array.from(ids, (i) => 1000 + i);
      const x = new InputBuilder([
        { featureIndex: [0, PAYLOAD_PROTOCOL_INPUT], identityIndex: [-1, 0], preprocessing: { nan: -1, posinf: -1, neginf: -1, clip: null, scale: null }, serverNames: null, payloadProtocols: values },
      ]).build(features, 1, ids.length, ids)[0]!;
      for (let i = 0; i < ids.length; i++) expect([x[2 * i], x[2 * i + 1]]).toEqual([1000 + i, values[i]]);
    }
  });
});

describe('the training table and the default application model', () => {
  it('models/train/app_payload.csv lists every protocol the sensor recognises, in its order, so no protocol is left without a prior row', () => {
    const rows = readFileSync(join(ROOT, 'models/train/app_payload.csv'), 'utf8').trim().split('\n').slice(1);
    expect(rows.map((r) => r.split(',')[0])).toEqual([...PAYLOAD_PROTOCOLS]);
  });
});

describe('the card field payload_protocols and its refusals', () => {
  const base = (extra: Record<string, unknown>): Record<string, unknown> => oneInputCard('Payload Protocol Class', extra);

  it('a valid list passes; the input without a list, a protocol the sensor does not know and repeats are refused', () => {
    expect(cardErrors(base({ payload_protocols: { protocols: ['RTP', 'STUN'] } }))).toEqual([]);
    expect(cardErrors(base({}))).toEqual(['inputs[0]: "Payload Protocol Class" needs the card\'s payload_protocols (the protocol list its values number)']);
    expect(cardErrors(base({ payload_protocols: ['RTP'] }))).toEqual(['payload_protocols: expected an object {protocols: [name, ...]}, got ["RTP"]']);
    expect(cardErrors(base({ payload_protocols: { protocols: ['rtp', 'RTP', 'RTP', 7] } }))).toEqual([
      `payload_protocols.protocols[0]: expected a protocol this sensor recognises (${PAYLOAD_PROTOCOLS.join(', ')}), got "rtp"`,
      'payload_protocols.protocols[2]: protocol "RTP" is listed twice (also payload_protocols.protocols[1])',
      `payload_protocols.protocols[3]: expected a protocol this sensor recognises (${PAYLOAD_PROTOCOLS.join(', ')}), got 7`,
    ]);
    expect(cardErrors(base({ inputs: ['Destination Port'], payload_protocols: { protocols: [] } }))).toEqual([]);
  });
});

const python = findPython(['sklearn', 'onnx']);
const noPython = python === undefined ? ' [skipped: python3-sklearn or python3-onnx not installed; .ci/run installs them]' : '';

describe.skipIf(python === undefined)(`a model that reads only Payload Protocol Class, end to end${noPython}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sensor-payload-class-'));
  // ... and edge.pcap, whose flows without payload have none.
  const CAPTURES = [
    ...['sip.pcap', 'stun_dtls_rtp.pcapng', 'rtcp_multiple_pkts_in_the_same_datagram.pcap'].map((n) => join(ROOT, 'fixtures/payload', n)),
    join(ROOT, 'fixtures/reference/edge.pcap'),
  ];
  // RTCP and DTLS flows are recognised but not listed: value 4.
  const LIST = ['SIP', 'RTP', 'STUN'];
  let model: { card: string; proba: number[][] };

  beforeAll(async () => {
    model = await makeOneInputModel(python!, dir, LIST, true);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([['1', []], ['2 workers', ['--workers', '2']]])('every flow gets the group and score of its protocol\'s value (%s)', async (_, extra) => {
    const values = await expectVerdictsByValue({ ...model, captures: CAPTURES, db: join(dir, `run-${extra.length}.sqlite`), extra, column: 'payload_protocol', valueOf: (p) => byRule(p, LIST) });
    // Flows with no protocol, with each listed one and with one not listed: all five values were fed.
    expect([...values].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('sensor models inspect shows the list; a card whose input has no list is refused before any packet (exit 2)', async () => {
    const card = model.card;
    const shown = await sensor(['models', 'inspect', card]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('payload        3 protocols (SIP, RTP, STUN); Payload Protocol Class = 0 none recognised, k+1 protocol k, 4 a protocol not listed');
    expect(shown.stdout).toMatch(/1 {2}Payload Protocol Class +-> flow payload_protocol, by payload_protocols/);
    await expectRefusals({
      card,
      key: 'payload_protocols',
      dir,
      capture: CAPTURES[0]!,
      replayError: 'inputs[0]: "Payload Protocol Class" needs the card\'s payload_protocols (the protocol list its values number)',
      classifyError: 'sensor classify: model names@1: inputs[0] is "Payload Protocol Class" (the protocol of the flow\'s first payload bytes), which a table of CIC features does not have: classify its flows with sensor --replay\n',
    });
  });
});
