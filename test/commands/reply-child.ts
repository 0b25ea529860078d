/**
 * Child process for the kill -9 test: a command router with a reply store on the given file.
 * It completes gate-test `k0`, then starts gate-test `k1` whose handler never returns, prints
 * `running k1` and waits to be killed with SIGKILL.
 */
import { ReplyStore } from '../../edge/commands/reply-store.js';
import { silentLogger } from '../../edge/log.js';
import { replyRig } from './reply-rig.js';

const file = process.argv[2] as string;
const store = new ReplyStore({ file, wallMs: () => Date.now(), log: silentLogger() });
const { send } = replyRig({
  store,
  handlerTimeoutMs: 600_000,
  handlers: {
    gateTest: (args) => {
      if (args.gateId === 'hang') {
        process.stdout.write('running k1\n');
        return new Promise(() => undefined);
      }
      return Promise.resolve({ fired: args.gateId, pid: process.pid });
    },
  },
});
const done = await send('gate-test', 'k0', { gateId: 'pass-gate', operatorId: 'tech' });
process.stdout.write(`done k0 ${JSON.stringify(done)}\n`);
void send('gate-test', 'k1', { gateId: 'hang', operatorId: 'tech' });
setInterval(() => undefined, 60_000);
