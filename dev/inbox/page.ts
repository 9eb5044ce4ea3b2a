// The inbox's readable HTML page (GET /): newest delivery first, refreshed every two seconds.
import type { Delivery } from "./server.ts";

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function row(d: Delivery): string {
  const body = typeof d.body === "string" ? d.body : JSON.stringify(d.body, null, 2);
  const mark = d.verified ? "✔ verified" : `✘ ${escapeHtml(d.verify_error ?? "not verified")}`;
  return `<tr>
  <td>${d.seq}</td>
  <td>${new Date(d.received_at_ms).toISOString()}</td>
  <td>${escapeHtml(d.method)} ${escapeHtml(d.path)}</td>
  <td class="${d.verified ? "ok" : "bad"}">${mark}</td>
  <td>${d.answered_status}${d.injected_failure ? " (injected)" : ""}</td>
  <td><code>${escapeHtml(d.webhook_id ?? "")}</code></td>
  <td><pre>${escapeHtml(body ?? "")}</pre></td>
</tr>`;
}

export function renderPage(
  deliveries: Delivery[],
  sections: { title: string; html: () => string }[] = [],
): string {
  const more = sections.map((s) => `<h2>${escapeHtml(s.title)}</h2>\n${s.html()}`).join("\n");
  const rows = [...deliveries].reverse().map(row).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="2">
<title>threadhook inbox</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { border-bottom: 1px solid #ddd; padding: .4rem; text-align: left; vertical-align: top; font-size: .9rem; }
  pre { margin: 0; max-height: 16rem; overflow: auto; white-space: pre-wrap; }
  .ok { color: #17692f; } .bad { color: #a11; }
</style>
</head>
<body>
<h1>Callback inbox</h1>
<p>${deliveries.length} deliveries kept. JSON: <a href="/deliveries">/deliveries</a></p>
<table>
<thead><tr><th>#</th><th>received</th><th>request</th><th>signature</th><th>answered</th><th>webhook-id</th><th>body</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${more}
</body>
</html>`;
}
