// The data of a chart as CSV (RFC 4180: comma-separated, a header line, fields with a comma, quote or line
// break quoted), written beside its PNG so the numbers can be re-plotted or checked.

export function toCsv(rows: ReadonlyArray<Record<string, unknown>>): string {
  const columns: string[] = [];
  for (const row of rows) for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  const field = (v: unknown): string => {
    const s = v === undefined || v === null ? '' : typeof v === 'number' ? String(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(field).join(','), ...rows.map((r) => columns.map((c) => field(r[c])).join(','))].join('\n') + '\n';
}
