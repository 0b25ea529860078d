import { resolve } from 'node:path';
import { SparkplugUplink } from './sparkplug/sparkplug-uplink.js';
import { Uplink, type UplinkOptions } from './uplink.js';

/** The uplink of the configured mode: the JSON topic tree (default) or a Sparkplug B edge node. */
export type PlatformUplink = Uplink | SparkplugUplink;

export const SPARKPLUG_BDSEQ_FILE = 'sparkplug-bdseq.json';

export function createUplink(o: UplinkOptions & { dataDir: string }): PlatformUplink {
  const { dataDir, ...options } = o;
  if (o.config.mode === 'sparkplug')
    return new SparkplugUplink({ ...options, bdSeqFile: resolve(dataDir, SPARKPLUG_BDSEQ_FILE) });
  return new Uplink(options);
}
