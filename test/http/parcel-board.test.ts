import { describe, expect, it } from 'vitest';
import type { EdgeEvent } from '../../edge/events/model.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';

let seq = 0;
const ev = (type: string, parcelId: string, payload: Record<string, unknown> = {}): EdgeEvent => ({
  schema: 1,
  id: `id-${++seq}`,
  seq,
  gatewayId: 'gw',
  type,
  parcelId,
  monoMs: seq,
  time: new Date(0).toISOString(),
  payload,
});

describe('status board', () => {
  it('a revised decision moves the parcel between lane totals instead of counting it twice', () => {
    const board = new ParcelBoard();
    board.apply([
      ev('parcel.inducted', 'P1'),
      ev('parcel.decided', 'P1', { lane: 'pass', ruleId: 'clear', reason: 'ok' }),
    ]);
    board.apply([
      ev('parcel.decided', 'P1', { lane: 'inspection', ruleId: 'estop', reason: 'E-stop' }),
    ]);
    expect(board.totals).toMatchObject({ inducted: 1, pass: 0, inspection: 1 });
    expect(board.list()[0]).toMatchObject({ lane: 'inspection', ruleId: 'estop' });
  });

  it('a failed gate shows the parcel in the inspection lane it physically reaches', () => {
    const board = new ParcelBoard();
    board.apply([
      ev('parcel.inducted', 'P2'),
      ev('parcel.decided', 'P2', { lane: 'exception', ruleId: 'no-read', reason: 'no read' }),
      ev('gate.failed', 'P2', { gateId: 'gate-exception', error: 'controller down' }),
    ]);
    expect(board.totals).toMatchObject({ exception: 0, inspection: 1 });
    expect(board.list()[0]).toMatchObject({ lane: 'inspection', gateError: 'controller down' });
  });
});
