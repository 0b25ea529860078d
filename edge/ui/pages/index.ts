import type { ComponentType } from 'preact';
import type { Role } from '../api.js';
import type { PageProps } from '../types.js';
import Config from './config.js';
import Devices from './devices.js';
import Events from './events.js';
import InspectorQueue from './inspector-queue.js';
import Overview from './overview.js';
import ParcelStory from './parcel-story.js';
import ShiftReport from './shift-report.js';

/**
 * The console's pages: one component per file in pages/, registered here. The navigation shows
 * a page only to roles at or above `minRole` (the server enforces the same on its routes).
 * `titleKey` is an i18n key (i18n/<page>.ts). The first page the role allows is the start page.
 */
export interface PageDef {
  path: string;
  titleKey: string;
  minRole: Role;
  component: ComponentType<PageProps>;
}

export const PAGES: PageDef[] = [
  { path: '/overview', titleKey: 'overview.title', minRole: 'viewer', component: Overview },
  { path: '/devices', titleKey: 'devices.title', minRole: 'technician', component: Devices },
  { path: '/config', titleKey: 'config.title', minRole: 'technician', component: Config },
  { path: '/events', titleKey: 'events.title', minRole: 'technician', component: Events },
  {
    path: '/inspector',
    titleKey: 'inspector.queueTitle',
    minRole: 'inspector',
    component: InspectorQueue,
  },
  {
    path: '/parcel',
    titleKey: 'inspector.storyTitle',
    minRole: 'inspector',
    component: ParcelStory,
  },
  {
    path: '/shift-report',
    titleKey: 'inspector.reportTitle',
    minRole: 'inspector',
    component: ShiftReport,
  },
];
