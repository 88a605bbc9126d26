// The report page's stylesheet (system fonts only: nothing is fetched).

export const STYLE = `
:root { --fg: #1d232b; --muted: #66707c; --line: #dde2e8; --bg: #fff; --band: #f5f7f9; --accent: #2563eb; --up: #15803d; --down: #c0392b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header.top { position: sticky; top: 0; z-index: 5; background: #111827; color: #fff; padding: 8px 20px; display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
header.top h1 { font-size: 16px; margin: 0 12px 0 0; }
header.top a { color: #cbd5e1; text-decoration: none; }
header.top a:hover { color: #fff; }
main { max-width: 1400px; margin: 0 auto; padding: 8px 20px 60px; }
section { margin-top: 28px; }
h2 { font-size: 18px; margin: 0 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 16px 0 6px; color: var(--muted); font-weight: 600; }
.note { color: var(--muted); font-size: 13px; margin: 4px 0 8px; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
dl.kv.params { grid-template-columns: repeat(auto-fill, 110px 100px); }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px 24px; }
.grid3 { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px 24px; }
.chart { width: 100%; min-height: 40px; }
.controls { display: flex; gap: 14px; flex-wrap: wrap; align-items: center; margin: 6px 0 10px; }
.controls label { color: var(--muted); font-size: 13px; }
select, input[type=text] { font: inherit; font-size: 13px; padding: 2px 6px; border: 1px solid var(--line); border-radius: 4px; }
input[type=text] { width: 340px; }
table.stats { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.stats td, table.stats th { padding: 2px 12px 2px 0; text-align: right; white-space: nowrap; }
table.stats th { color: var(--muted); font-weight: normal; text-align: left; }
table.best { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 13px; }
table.best th, table.best td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
table.best th { background: var(--band); position: sticky; top: 0; }
.vt { border: 1px solid var(--line); border-radius: 4px; font-variant-numeric: tabular-nums; font-size: 13px; }
.vt-head, .vt-row { display: flex; height: 24px; align-items: center; }
.vt-head { background: var(--band); border-bottom: 1px solid var(--line); font-weight: 600; user-select: none; }
.vt-head span { cursor: pointer; }
.vt-head span.sorted::after { content: " \\25BE"; }
.vt-head span.sorted.asc::after { content: " \\25B4"; }
.vt-head span, .vt-row span { flex: 0 0 var(--w, 96px); padding: 0 8px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: right; }
.vt-head span:first-child, .vt-row span:first-child { text-align: left; flex-basis: 110px; }
.vt-body { height: 432px; overflow: auto; position: relative; }
.vt-rows { position: absolute; left: 0; right: 0; top: 0; }
.vt-row { cursor: pointer; border-bottom: 1px solid #f0f2f5; }
.vt-row:hover { background: #eef4ff; }
.vt-row.sel { background: #dbe7ff; }
.neg { color: var(--down); }
.pos { color: var(--up); }
.heat { display: block; }
.heat-wrap { overflow-x: auto; }
.sym-title { font-size: 16px; font-weight: 600; margin-right: 10px; }
button.toggle { font: inherit; font-size: 12px; padding: 1px 8px; border: 1px solid var(--line); background: #fff; border-radius: 4px; cursor: pointer; }
button.toggle.on { background: var(--accent); color: #fff; border-color: var(--accent); }
button.toggle:disabled { opacity: .4; cursor: default; }
.u-legend { font-size: 12px; }
`;
