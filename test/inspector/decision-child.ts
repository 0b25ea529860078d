/**
 * Child process for the restart test: the inspector desk on real SQLite files in the given
 * directory, one CT suspect, one officer decision through HTTP; prints the parcel id and the
 * decision as JSON once the HTTP answer is in, then waits to be killed with SIGKILL.
 */
import { auth, startRig } from './rig.js';

const dir = process.argv[2] as string;
const rig = await startRig({ dir });
const parcelId = await rig.parcel('RD223479072CN', 'suspect', 'IMG-CHILD');
const res = await rig.app.inject({
  method: 'POST',
  url: `/api/inspector/parcels/${parcelId}/decision`,
  headers: auth('officer'),
  payload: { action: 'seize', note: 'kept after kill -9' },
});
process.stdout.write(`${JSON.stringify({ parcelId, status: res.statusCode, body: res.json() })}\n`);
setInterval(() => {}, 1000);
