/** The status page: parcels and their decisions as they happen (server-sent events). */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customs line - gateway status</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1rem 2rem; background: #f6f7f9; color: #1d232b; }
  h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
  .totals { display: flex; gap: 1rem; margin: .5rem 0 1rem; flex-wrap: wrap; }
  .totals div { background: #fff; border: 1px solid #d6dae0; border-radius: 6px; padding: .4rem .8rem; }
  .totals b { display: block; font-size: 1.3rem; }
  #health { font-size: .85rem; color: #555; margin-bottom: .5rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; font-size: .9rem; }
  th, td { border-bottom: 1px solid #e3e6ea; padding: .3rem .5rem; text-align: left; }
  th { background: #eef0f3; position: sticky; top: 0; }
  tr.inspection td.lane { background: #f8d7da; font-weight: bold; }
  tr.exception td.lane { background: #fff3cd; }
  tr.pass td.lane { background: #d1e7dd; }
  td.suspect { color: #b00020; font-weight: bold; }
</style>
</head>
<body>
<h1>Customs inspection line - live decisions</h1>
<div id="health">connecting...</div>
<div class="totals">
  <div>Inducted<b id="t-inducted">0</b></div>
  <div>Inspection<b id="t-inspection">0</b></div>
  <div>Exception<b id="t-exception">0</b></div>
  <div>Pass<b id="t-pass">0</b></div>
  <div>CT suspect<b id="t-suspect">0</b></div>
  <div>No-read<b id="t-noRead">0</b></div>
  <div>Escaped<b id="t-escaped">0</b></div>
</div>
<table>
  <thead><tr><th>Parcel</th><th>Inducted</th><th>Waybill</th><th>CT verdict</th><th>Lane</th><th>Rule / reason</th><th>Gate</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<script>
const rows = new Map();
const tbody = document.getElementById('rows');
function text(v) { return v === null || v === undefined ? '' : String(v); }
function render(row) {
  let tr = rows.get(row.parcelId);
  if (!tr) {
    tr = document.createElement('tr');
    rows.set(row.parcelId, tr);
    tbody.prepend(tr);
    while (tbody.children.length > 200) { const last = tbody.lastChild; rows.forEach((v, k) => { if (v === last) rows.delete(k); }); last.remove(); }
  }
  tr.className = text(row.lane);
  const cells = [row.parcelId, row.inductedAt.slice(11, 23), row.code, row.verdict, row.lane,
    (row.alarm ? row.alarm + ' / ' : '') + (row.ruleId ? row.ruleId + ': ' + row.reason : ''),
    row.gateError ? row.gate + ' FAILED: ' + row.gateError : row.gate ? row.gate + ' (' + row.gateLatenessMs.toFixed(2) + ' ms late)' : ''];
  tr.replaceChildren(...cells.map((c, i) => { const td = document.createElement('td'); td.textContent = text(c);
    if (i === 3 && c === 'suspect') td.className = 'suspect'; if (i === 4) td.classList.add('lane'); return td; }));
}
function totals(t) { for (const k in t) { const el = document.getElementById('t-' + k); if (el) el.textContent = t[k]; } }
const es = new EventSource('/api/parcels/stream');
es.addEventListener('snapshot', (e) => { const s = JSON.parse(e.data); totals(s.totals); s.parcels.slice().reverse().forEach(render); });
es.onmessage = (e) => { const m = JSON.parse(e.data); totals(m.totals); render(m.row); };
async function health() {
  try {
    const h = await (await fetch('/api/health')).json();
    document.getElementById('health').textContent = 'gateway ' + h.gatewayId + ' v' + h.version + ' - ' + h.status +
      ' - uplink ' + h.uplink.state + ' - outbox pending ' + h.outbox.pending +
      ' - stack light: ' + (h.stackLight && h.stackLight.lamps ? Object.keys(h.stackLight.lamps).filter((k) => h.stackLight.lamps[k]).join(' + ') : '?') +
      ' - drivers: ' +
      h.drivers.map((d) => d.id + ' ' + d.state).join(', ');
  } catch (e) { document.getElementById('health').textContent = 'health unavailable'; }
}
health(); setInterval(health, 2000);
</script>
</body>
</html>
`;
