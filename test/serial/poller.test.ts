import { describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clocks.js';
import { PollStateMachine, type PollAction } from '../../drivers/serial/poller.js';

const kinds = (actions: PollAction[]) =>
  actions.map((a) =>
    a.type === 'send'
      ? `send ${a.command}#${a.attempt}`
      : a.type === 'failed'
        ? `failed ${a.command} ${a.reason}`
        : `answered ${a.command}`,
  );

describe('PollStateMachine', () => {
  it('polls at the interval, one request in flight', () => {
    const clock = new ManualClock();
    const m = new PollStateMachine(
      { command: 'SI', intervalMs: 100, timeoutMs: 50, retries: 2 },
      clock.monoMs(),
    );
    expect(kinds(m.tick(clock.monoMs()))).toEqual(['send SI#1']);
    expect(m.tick(clock.monoMs())).toEqual([]);
    clock.advance(10);
    expect(m.response(clock.monoMs())).toMatchObject({
      type: 'answered',
      latencyMs: 10,
      purpose: 'poll',
    });
    expect(m.deadline()).toBe(100);
    clock.advance(50);
    expect(m.tick(clock.monoMs())).toEqual([]);
    clock.advance(40);
    expect(kinds(m.tick(clock.monoMs()))).toEqual(['send SI#1']);
  });

  it('resends on timeout, then fails after the retries; an answer resets the failure count', () => {
    const clock = new ManualClock();
    const m = new PollStateMachine({ command: 'S', intervalMs: 100, timeoutMs: 50, retries: 2 }, 0);
    m.tick(0);
    clock.advance(50);
    expect(kinds(m.tick(clock.monoMs()))).toEqual(['send S#2']);
    clock.advance(49);
    expect(m.tick(clock.monoMs())).toEqual([]);
    clock.advance(1);
    expect(kinds(m.tick(clock.monoMs()))).toEqual(['send S#3']);
    clock.advance(50);
    // the third timeout fails it; the poll interval has passed, so the next poll goes out at once
    expect(kinds(m.tick(clock.monoMs()))).toEqual(['failed S timeout', 'send S#1']);
    expect(m.consecutiveFailures).toBe(1);
    clock.advance(5);
    m.response(clock.monoMs());
    expect(m.consecutiveFailures).toBe(0);
  });

  it('test commands go before the next poll; unsolicited responses are null', () => {
    const m = new PollStateMachine(
      { command: 'SI', intervalMs: 1000, timeoutMs: 50, retries: 0 },
      0,
    );
    expect(m.response(0)).toBeNull();
    m.tick(0);
    const id = m.request('I4');
    expect(m.deadline()).toBe(50);
    expect(m.tick(10)).toEqual([]);
    m.response(20);
    expect(m.deadline()).toBe(-Infinity);
    expect(m.tick(20)).toEqual([
      { type: 'send', requestId: id, command: 'I4', attempt: 1, purpose: 'test' },
    ]);
    expect(m.response(25)).toMatchObject({ requestId: id, purpose: 'test', latencyMs: 5 });
  });

  it('cancelAll fails what is in flight and queued', () => {
    const m = new PollStateMachine(
      { command: 'SI', intervalMs: 1000, timeoutMs: 50, retries: 0 },
      0,
    );
    m.tick(0);
    m.request('I4');
    expect(kinds(m.cancelAll(5))).toEqual(['failed SI cancelled', 'failed I4 cancelled']);
    expect(m.busy).toBe(false);
    expect(m.queued).toBe(0);
  });

  it('without a periodic command only explicit requests are sent', () => {
    const m = new PollStateMachine(
      { command: null, intervalMs: 100, timeoutMs: 50, retries: 0 },
      0,
    );
    expect(m.tick(0)).toEqual([]);
    expect(m.deadline()).toBe(Infinity);
  });
});
