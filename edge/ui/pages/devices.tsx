import { useState } from 'preact/hooks';
import { allows, api, ApiError } from '../api.js';
import { useT } from '../i18n.js';
import { usePoll } from '../lib/poll.js';
import type { PageProps } from '../types.js';

/**
 * Devices: every driver's live health with its last error in plain words and what to do;
 * OPC UA servers (signals and life bits, server certificates to trust or remove, the gateway's
 * own certificate, browse and read, pick a node for a signal); serial ports (raw monitor in hex
 * and text, test commands); GPIO (inputs and outputs live, the interlocked jog with the reason
 * when refused).
 */

interface DriverHealth {
  id: string;
  kind: string;
  state: string;
  since?: string;
  lastError: { code: string; message: string } | null;
  counters: Record<string, number>;
  details: Record<string, unknown>;
}

function ErrorExplained({ error }: { error: { code: string; message: string } | null }) {
  const t = useT('devices');
  if (!error) return null;
  const plain = t(`err_${error.code}`);
  const todo = t(`do_${error.code}`);
  return (
    <div class="hint" data-testid="last-error">
      <b>{plain.startsWith('devices.') ? error.code : plain}</b>
      <div class="mono">{error.message}</div>
      {!todo.startsWith('devices.') ? (
        <div>
          {t('whatToDo')}: {todo}
        </div>
      ) : null}
    </div>
  );
}

function Kv({ data }: { data: Record<string, unknown> }) {
  return (
    <dl class="kv">
      {Object.entries(data).map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
        </>
      ))}
    </dl>
  );
}

function AllDevices() {
  const t = useT('devices');
  const { data, error } = usePoll<{ drivers: DriverHealth[] }>('/api/health/details', 2000);
  if (!data) return <p class="empty">{error ?? t('shell.loading')}</p>;
  return (
    <div class="devices">
      {data.drivers.map((d) => (
        <section class="card" key={d.id} data-driver={d.id}>
          <div class="row">
            <h2>{d.id}</h2>
            <span class={`state ${d.state}`}>{d.state}</span>
          </div>
          <div class="muted">
            {d.kind}
            {d.since ? ` · ${t('since')} ${new Date(d.since).toLocaleString()}` : ''}
          </div>
          <ErrorExplained error={d.lastError} />
          {Object.keys(d.counters).length > 0 ? <Kv data={d.counters} /> : null}
        </section>
      ))}
    </div>
  );
}

interface CertificateEntry {
  driverId: string;
  thumbprint: string;
  status: string;
  subject: string;
  notAfter: string;
}
interface ServerHealth {
  driverId: string;
  id: string;
  endpointUrl: string;
  securityMode: string;
  securityPolicy: string;
  state: string;
  lastError: { code: string; message: string } | null;
  serverCertificate: string | null;
  signals: {
    name: string;
    kind: string;
    nodeId: string | null;
    state: string;
    lastValueAt: string | null;
    values: number;
    error: string | null;
  }[];
}
interface BrowseChild {
  nodeId: string;
  displayName: string;
  nodeClass: string;
  hasChildren: boolean;
  value: unknown;
}

function BrowseNode(props: {
  serverId: string;
  node: BrowseChild;
  onPick: (n: BrowseChild) => void;
}) {
  const [children, setChildren] = useState<BrowseChild[] | null>(null);
  const [open, setOpen] = useState(false);
  const toggle = async () => {
    if (!open && !children) {
      const r = await api.get<{ children: BrowseChild[] }>(
        `/api/opcua/servers/${encodeURIComponent(props.serverId)}/browse?nodeId=${encodeURIComponent(props.node.nodeId)}`,
      );
      setChildren(r.children);
    }
    setOpen(!open);
  };
  return (
    <li>
      {props.node.hasChildren ? (
        <button class="ghost" onClick={() => void toggle()}>
          {open ? '▾' : '▸'}
        </button>
      ) : null}{' '}
      <a
        href="javascript:void 0"
        onClick={() => props.onPick(props.node)}
        data-node={props.node.nodeId}
      >
        {props.node.displayName}
      </a>{' '}
      <small class="muted">{props.node.nodeClass}</small>
      {open && children ? (
        <ul class="tree">
          {children.map((c) => (
            <BrowseNode key={c.nodeId} serverId={props.serverId} node={c} onPick={props.onPick} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

function OpcuaServer({ server }: { server: ServerHealth }) {
  const t = useT('devices');
  const [root, setRoot] = useState<BrowseChild[] | null>(null);
  const [picked, setPicked] = useState<{
    node: BrowseChild;
    attrs: Record<string, unknown> | null;
  } | null>(null);
  const [signal, setSignal] = useState(server.signals[0]?.name ?? '');
  const [error, setError] = useState<string | null>(null);
  const browse = () =>
    api
      .get<{ children: BrowseChild[] }>(
        `/api/opcua/servers/${encodeURIComponent(server.id)}/browse?nodeId=i=85`,
      )
      .then(
        (r) => setRoot(r.children),
        (e: Error) => setError(e.message),
      );
  const pick = (node: BrowseChild) => {
    setPicked({ node, attrs: null });
    api
      .get<Record<string, unknown>>(
        `/api/opcua/servers/${encodeURIComponent(server.id)}/read?nodeId=${encodeURIComponent(node.nodeId)}`,
      )
      .then(
        (attrs) => setPicked({ node, attrs }),
        (e: Error) => setError(e.message),
      );
  };
  const snippet = picked
    ? `- { name: ${signal || 'signal'}, nodeId: "${picked.node.nodeId}" }`
    : '';
  return (
    <section class="card" data-server={server.id}>
      <div class="row">
        <h2>{server.id}</h2>
        <span class={`state ${server.state === 'connected' ? 'running' : 'degraded'}`}>
          {server.state}
        </span>
      </div>
      <div class="mono">
        {server.endpointUrl} · {server.securityMode} / {server.securityPolicy}
      </div>
      <ErrorExplained error={server.lastError} />
      <h3>{t('signals')}</h3>
      <table>
        <thead>
          <tr>
            <th>{t('signal')}</th>
            <th>{t('kind')}</th>
            <th>{t('state')}</th>
            <th>{t('lastValue')}</th>
          </tr>
        </thead>
        <tbody>
          {server.signals.map((s) => (
            <tr key={s.name}>
              <td>{s.name}</td>
              <td>{s.kind}</td>
              <td class={`state ${s.state === 'monitoring' ? 'running' : 'degraded'}`}>
                {s.error ?? s.state}
              </td>
              <td>
                {s.lastValueAt ? new Date(s.lastValueAt).toLocaleTimeString() : '-'} ({s.values})
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="row">
        <button class="ghost" onClick={() => void browse()} disabled={server.state !== 'connected'}>
          {t('browse')}
        </button>
      </div>
      {error ? <p class="error">{error}</p> : null}
      {root ? (
        <div class="cols">
          <ul class="tree" data-testid="browse-tree">
            {root.map((c) => (
              <BrowseNode key={c.nodeId} serverId={server.id} node={c} onPick={pick} />
            ))}
          </ul>
          {picked ? (
            <div data-testid="picked">
              <h3>{picked.node.displayName}</h3>
              {picked.attrs ? <Kv data={picked.attrs} /> : null}
              <label>
                {t('useForSignal')}{' '}
                <select value={signal} onChange={(e) => setSignal(e.currentTarget.value)}>
                  {server.signals.map((s) => (
                    <option key={s.name}>{s.name}</option>
                  ))}
                </select>
              </label>
              <input
                class="mono"
                readOnly
                value={snippet}
                style={{ width: '100%' }}
                data-testid="node-snippet"
              />
              <p class="muted">{t('snippetHint')}</p>
            </div>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

function Opcua() {
  const t = useT('devices');
  const servers = usePoll<{ servers: ServerHealth[] }>('/api/opcua/servers', 2000);
  const certs = usePoll<{ certificates: CertificateEntry[] }>('/api/opcua/certificates', 5000);
  const [message, setMessage] = useState<string | null>(null);
  const act = async (method: 'post' | 'del', thumbprint: string) => {
    try {
      if (method === 'post') await api.post(`/api/opcua/certificates/${thumbprint}/trust`);
      else await api.del(`/api/opcua/certificates/${thumbprint}`);
      setMessage(method === 'post' ? t('trusted') : t('removed'));
      certs.reload();
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  const driverIds = [...new Set((servers.data?.servers ?? []).map((s) => s.driverId))];
  if (servers.data && servers.data.servers.length === 0) return <p class="empty">{t('noOpcua')}</p>;
  return (
    <>
      <section class="card">
        <h2>{t('certificates')}</h2>
        <p class="hint">{t('certHint')}</p>
        <table data-testid="certificates">
          <thead>
            <tr>
              <th>{t('subject')}</th>
              <th>{t('status')}</th>
              <th>{t('thumbprint')}</th>
              <th>{t('validUntil')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(certs.data?.certificates ?? []).map((c) => (
              <tr key={`${c.driverId}-${c.thumbprint}`} data-status={c.status}>
                <td>{c.subject}</td>
                <td class={`state ${c.status === 'trusted' ? 'running' : 'failed'}`}>
                  {t(`cert_${c.status}`)}
                </td>
                <td class="mono">{c.thumbprint}</td>
                <td>{new Date(c.notAfter).toLocaleDateString()}</td>
                <td class="row">
                  {c.status === 'rejected' ? (
                    <button onClick={() => void act('post', c.thumbprint)}>{t('trust')}</button>
                  ) : null}
                  <button class="ghost" onClick={() => void act('del', c.thumbprint)}>
                    {t('remove')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {message ? <p>{message}</p> : null}
        <div class="row">
          {driverIds.map((id) => (
            <a
              key={id}
              href={`/api/opcua/drivers/${encodeURIComponent(id)}/own-certificate`}
              download
            >
              {t('ownCert', { id })}
            </a>
          ))}
        </div>
      </section>
      {(servers.data?.servers ?? []).map((s) => (
        <OpcuaServer key={s.id} server={s} />
      ))}
    </>
  );
}

interface SerialPorts {
  ports?: { path: string; byId?: string[] | string | null; manufacturer?: string | null }[];
  errors?: string[];
  configured: {
    driverId: string;
    kind: string;
    path: string;
    state: string;
    link: unknown;
    polled: boolean;
    testCommands: string[];
  }[];
}
interface Monitor {
  frames: { at?: string; hex: string; text: string; direction?: string }[];
  lastBytes: { hex: string; text: string } | null;
  counters: Record<string, number>;
}

function SerialDriver({ d }: { d: SerialPorts['configured'][number] }) {
  const t = useT('devices');
  const monitor = usePoll<Monitor>(
    `/api/serial/drivers/${encodeURIComponent(d.driverId)}/monitor?limit=30`,
    1000,
  );
  const [mode, setMode] = useState<'hex' | 'text'>('text');
  const [command, setCommand] = useState(d.testCommands[0] ?? '');
  const [answer, setAnswer] = useState<string | null>(null);
  return (
    <section class="card" data-serial={d.driverId}>
      <div class="row">
        <h2>{d.driverId}</h2>
        <span class={`state ${d.state}`}>{d.state}</span>
      </div>
      <div class="mono">
        {d.path} · {d.kind}
      </div>
      <div class="row">
        <button class="ghost" onClick={() => setMode(mode === 'hex' ? 'text' : 'hex')}>
          {mode === 'hex' ? 'ASCII' : 'HEX'}
        </button>
      </div>
      <pre class="monitor" data-testid="serial-monitor">
        {(monitor.data?.frames ?? []).map((f) => `${mode === 'hex' ? f.hex : f.text}\n`).join('')}
        {monitor.data?.lastBytes
          ? `… ${mode === 'hex' ? monitor.data.lastBytes.hex : monitor.data.lastBytes.text}`
          : ''}
      </pre>
      {d.polled && d.testCommands.length > 0 ? (
        <div class="row">
          <select value={command} onChange={(e) => setCommand(e.currentTarget.value)}>
            {d.testCommands.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
          <button
            onClick={() =>
              void api
                .post(`/api/serial/drivers/${encodeURIComponent(d.driverId)}/command`, { command })
                .then(
                  (r) => setAnswer(JSON.stringify(r)),
                  (e: Error) => setAnswer(e.message),
                )
            }
          >
            {t('send')}
          </button>
          {answer ? <code>{answer}</code> : null}
        </div>
      ) : null}
    </section>
  );
}

function Serial() {
  const t = useT('devices');
  const { data, error } = usePoll<SerialPorts>('/api/serial/ports', 5000);
  if (!data) return <p class="empty">{error ?? t('shell.loading')}</p>;
  return (
    <>
      <section class="card">
        <h2>{t('ports')}</h2>
        {(data.errors ?? []).map((e) => (
          <p class="hint" key={e}>
            {e}
          </p>
        ))}
        <table>
          <tbody>
            {(data.ports ?? []).map((p) => (
              <tr key={p.path}>
                <td class="mono">{p.path}</td>
                <td class="mono">{Array.isArray(p.byId) ? p.byId.join(', ') : (p.byId ?? '')}</td>
                <td>{p.manufacturer ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {(data.ports ?? []).length === 0 ? <p class="empty">{t('noPorts')}</p> : null}
      </section>
      {data.configured.map((d) => (
        <SerialDriver key={d.driverId} d={d} />
      ))}
    </>
  );
}

interface Gates {
  configured: boolean;
  state?: string;
  controllerState?: string;
  lineRunning?: boolean;
  lineState?: string;
  parcelsOnBelt?: number;
  maintenance?: boolean;
  estop?: boolean;
  outputs?: { id: string; kind: string }[];
  details?: {
    inputs?: Record<string, number>;
    lights?: Record<string, number>;
    latenessMs?: Record<string, number>;
  };
}

function Gpio({ session }: { session: PageProps['session'] }) {
  const t = useT('devices');
  const { data, reload } = usePoll<Gates>('/api/gates', 1000);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const run = async (call: () => Promise<unknown>, done: string) => {
    try {
      await call();
      setResult({ ok: true, text: done });
    } catch (err) {
      setResult({
        ok: false,
        text:
          err instanceof ApiError && err.status === 409
            ? `${t('jogRefused')}: ${err.message}`
            : err instanceof ApiError && err.status === 403
              ? `${t('shell.refused')}: ${err.message}`
              : (err as Error).message,
      });
    }
    reload();
  };
  if (!data) return <p class="empty">{t('shell.loading')}</p>;
  if (!data.configured) return <p class="empty">{t('noGates')}</p>;
  return (
    <>
      <section class="card">
        <div class="row">
          <h2>{t('gates')}</h2>
          <span class={`state ${data.controllerState === 'armed' ? 'running' : 'degraded'}`}>
            {data.controllerState}
          </span>
        </div>
        <Kv
          data={{
            [t('lineState')]: data.lineState,
            [t('onBelt')]: data.parcelsOnBelt,
            [t('maintenance')]: data.maintenance ? t('on') : t('off'),
            'E-stop': data.estop ? t('pressed') : t('released'),
          }}
        />
        {allows(session.role, 'admin') ? (
          <button
            class="ghost"
            onClick={() =>
              void run(
                () => api.put('/api/gates/maintenance', { on: !data.maintenance }),
                t('done'),
              )
            }
          >
            {data.maintenance ? t('maintenanceOff') : t('maintenanceOn')}
          </button>
        ) : null}
      </section>
      <div class="cols">
        <section class="card">
          <h2>{t('inputs')}</h2>
          <Kv data={data.details?.inputs ?? {}} />
          <h2>{t('lights')}</h2>
          <Kv data={data.details?.lights ?? {}} />
        </section>
        <section class="card">
          <h2>{t('outputs')}</h2>
          <p class="hint">{t('jogHint')}</p>
          <table data-testid="gate-outputs">
            <tbody>
              {(data.outputs ?? [])
                .filter((o) => o.kind === 'gate')
                .map((o) => (
                  <tr key={o.id}>
                    <td>{o.id}</td>
                    <td class="row">
                      <button
                        data-testid={`jog-${o.id}`}
                        onClick={() =>
                          void run(
                            () =>
                              api.post(`/api/gates/outputs/${encodeURIComponent(o.id)}/fire`, {
                                holdMs: 300,
                              }),
                            t('fired'),
                          )
                        }
                      >
                        {t('fire')}
                      </button>
                      <button
                        class="ghost"
                        onClick={() =>
                          void run(
                            () =>
                              api.post(`/api/gates/outputs/${encodeURIComponent(o.id)}/release`),
                            t('released'),
                          )
                        }
                      >
                        {t('release')}
                      </button>
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
          {result ? (
            <p class={result.ok ? '' : 'error'} data-testid="jog-result">
              {result.text}
            </p>
          ) : null}
        </section>
      </div>
    </>
  );
}

const TABS = ['', 'opcua', 'serial', 'gpio'];

export default function Devices({ sub, session }: PageProps) {
  const t = useT('devices');
  const tab = sub[0] ?? '';
  return (
    <div>
      <div class="tabs">
        {TABS.map((k) => (
          <a key={k} href={`#/devices${k ? `/${k}` : ''}`} class={tab === k ? 'active' : ''}>
            {t(`tab_${k || 'all'}`)}
          </a>
        ))}
      </div>
      {tab === 'opcua' ? (
        <Opcua />
      ) : tab === 'serial' ? (
        <Serial />
      ) : tab === 'gpio' ? (
        <Gpio session={session} />
      ) : (
        <AllDevices />
      )}
    </div>
  );
}
