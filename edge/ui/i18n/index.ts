import config from './config.js';
import devices from './devices.js';
import events from './events.js';
import inspector from './inspector.js';
import overview from './overview.js';
import shell from './shell.js';

/** Every page's strings, by page name (t('overview.title')). A new page adds its file here. */
export type Bundle = { en: Record<string, string>; zh: Partial<Record<string, string>> };

export const BUNDLES: Record<string, Bundle> = {
  shell,
  overview,
  devices,
  config,
  events,
  inspector,
};
