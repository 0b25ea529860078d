import type { UplinkConfig } from '../../config/schema.js';
import type { Clock } from '../clock.js';
import { EdgeError } from '../errors.js';
import type { Stream } from '../events/model.js';
import type { CommandSigner } from './command-auth.js';
import type { ReplayArgsT } from './schemas.js';

/**
 * The `replay` command: stored events of a stream re-sent (at most replayMaxEvents, paced at
 * replayEventsPerS, one replay per replayMinIntervalMs). More than unsignedReplayMaxEvents need a
 * signature (role replay): a large replay costs the link and the broker.
 */
export interface ReplayDeps {
  settings: UplinkConfig['commands'];
  clock: Clock;
  lastSeq: (stream: Stream) => number;
  /** start the re-send; false when one is already running */
  replay: (stream: Stream, fromSeq: number, toSeq: number, maxEvents: number) => boolean;
}

export class ReplayCommand {
  private lastReplayAt = -Infinity;

  constructor(private readonly o: ReplayDeps) {}

  run(args: ReplayArgsT, signer: CommandSigner | null): Record<string, unknown> {
    const s = this.o.settings;
    const now = this.o.clock.monoMs();
    if (now - this.lastReplayAt < s.replayMinIntervalMs) {
      throw new EdgeError(
        'EDGE_COMMAND_RATE_LIMITED',
        `a replay was accepted ${Math.round(now - this.lastReplayAt)} ms ago; at most one per ${s.replayMinIntervalMs} ms`,
      );
    }
    const stream = args.stream;
    const maxEvents = Math.min(args.maxEvents ?? s.replayMaxEvents, s.replayMaxEvents);
    const last = this.o.lastSeq(stream);
    const toSeq = Math.min(args.toSeq ?? last, last, args.fromSeq + maxEvents - 1);
    if (toSeq < args.fromSeq) {
      return { stream, fromSeq: args.fromSeq, toSeq, accepted: 0, eventsPerS: s.replayEventsPerS };
    }
    const count = toSeq - args.fromSeq + 1;
    if (!signer && count > s.unsignedReplayMaxEvents) {
      throw new EdgeError(
        'EDGE_COMMAND_UNSIGNED',
        `a replay of ${count} events needs a signature (role replay); unsigned: at most ${s.unsignedReplayMaxEvents}`,
      );
    }
    if (!this.o.replay(stream, args.fromSeq, toSeq, maxEvents)) {
      throw new EdgeError('EDGE_COMMAND_RATE_LIMITED', 'a replay is already running');
    }
    this.lastReplayAt = now;
    return {
      stream,
      fromSeq: args.fromSeq,
      toSeq,
      accepted: count,
      eventsPerS: s.replayEventsPerS,
    };
  }
}
