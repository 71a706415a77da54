/** Cron (5 fields: minute hour day-of-month month day-of-week) preview: the next run times and a
 * readable sentence. Pure; times are computed in UTC. Day-of-month and day-of-week follow Vixie cron:
 * when both are restricted, a day matches either. Throws CronError on a malformed expression. */

export class CronError extends Error {}

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
};

export interface Cron { sets: Set<number>[]; domStar: boolean; dowStar: boolean; source: string }

function value(tok: string, idx: number): number {
  const t = tok.toLowerCase();
  if (idx === 3 && MONTHS.includes(t)) return MONTHS.indexOf(t) + 1;
  if (idx === 4 && DAYS.includes(t)) return DAYS.indexOf(t);
  if (!/^\d+$/.test(t)) throw new CronError(`${FIELDS[idx].name}: '${tok}' is not a number`);
  return Number(t);
}

export function parseCron(expr: string): Cron {
  const source = expr.trim();
  const text = MACROS[source.toLowerCase()] ?? source;
  const parts = text.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) throw new CronError(`a cron expression has 5 fields (minute hour day month weekday), got ${parts.length}`);
  const sets = parts.map((part, idx) => {
    const f = FIELDS[idx];
    const set = new Set<number>();
    for (const item of part.split(",")) {
      const [range, stepText] = item.split("/");
      const step = stepText === undefined ? 1 : Number(stepText);
      if (!Number.isInteger(step) || step < 1) throw new CronError(`${f.name}: bad step '${stepText}'`);
      let lo: number, hi: number;
      if (range === "*") { lo = f.min; hi = f.max; }
      else if (range.includes("-")) { const [a, b] = range.split("-"); lo = value(a, idx); hi = value(b, idx); }
      else { lo = value(range, idx); hi = stepText === undefined ? lo : f.max; }
      if (lo < f.min || hi > f.max || lo > hi) throw new CronError(`${f.name}: '${item}' is outside ${f.min}-${f.max}`);
      for (let v = lo; v <= hi; v += step) set.add(idx === 4 && v === 7 ? 0 : v);
    }
    return set;
  });
  return { sets, domStar: parts[2] === "*", dowStar: parts[4] === "*", source };
}

function dayMatches(c: Cron, d: Date): boolean {
  const dom = c.sets[2].has(d.getUTCDate());
  const dow = c.sets[4].has(d.getUTCDay());
  if (c.domStar && c.dowStar) return true;
  if (c.domStar) return dow;
  if (c.dowStar) return dom;
  return dom || dow;
}

/** The next `count` run times strictly after `from` (UTC). */
export function nextRuns(expr: string, from: Date, count = 5): Date[] {
  const c = parseCron(expr);
  const out: Date[] = [];
  const t = new Date(from.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  let guard = 0;
  while (out.length < count && guard++ < 500000) {
    if (!c.sets[3].has(t.getUTCMonth() + 1)) { t.setUTCMonth(t.getUTCMonth() + 1, 1); t.setUTCHours(0, 0); continue; }
    if (!dayMatches(c, t)) { t.setUTCDate(t.getUTCDate() + 1); t.setUTCHours(0, 0); continue; }
    if (!c.sets[1].has(t.getUTCHours())) { t.setUTCHours(t.getUTCHours() + 1, 0); continue; }
    if (!c.sets[0].has(t.getUTCMinutes())) { t.setUTCMinutes(t.getUTCMinutes() + 1); continue; }
    out.push(new Date(t.getTime()));
    t.setUTCMinutes(t.getUTCMinutes() + 1);
  }
  return out;
}

const pad = (n: number) => String(n).padStart(2, "0");
function list(values: number[], names?: string[]): string {
  const words = values.map((v) => (names ? names[v] : String(v)));
  return words.length <= 2 ? words.join(" and ") : words.slice(0, -1).join(", ") + " and " + words[words.length - 1];
}

/** A readable sentence: "Every 15 minutes", "At 09:00 on Monday to Friday", ... */
export function describeCron(expr: string): string {
  const c = parseCron(expr);
  const text = (MACROS[c.source.toLowerCase()] ?? c.source).split(/\s+/);
  const [mi, ho] = text;
  const minutes = [...c.sets[0]].sort((a, b) => a - b);
  const hours = [...c.sets[1]].sort((a, b) => a - b);
  let time: string;
  const step = (s: string) => /^\*\/(\d+)$/.exec(s)?.[1];
  if (mi === "*" && ho === "*") time = "Every minute";
  else if (step(mi) && ho === "*") time = `Every ${step(mi)} minutes`;
  else if (ho === "*" && minutes.length === 1) time = `At minute ${minutes[0]} of every hour`;
  else if (step(ho) && minutes.length === 1) time = `Every ${step(ho)} hours at minute ${minutes[0]}`;
  else if (minutes.length === 1 && hours.length <= 4) time = "At " + list(hours.map((h) => `${pad(h)}:${pad(minutes[0])}`).map((_, i) => i) , hours.map((h) => `${pad(h)}:${pad(minutes[0])}`));
  else time = `At minute ${list(minutes)} past hour ${list(hours)}`;
  const parts = [time];
  if (!c.dowStar) {
    const days = [...c.sets[4]].sort((a, b) => a - b);
    const weekdays = days.length === 5 && days.every((d, i) => d === i + 1);
    parts.push(weekdays ? "on Monday to Friday" : "on " + list(days, DAY_NAMES));
  }
  if (!c.domStar) parts.push("on day " + list([...c.sets[2]].sort((a, b) => a - b)) + " of the month");
  if (text[3] !== "*") parts.push("in " + list([...c.sets[3]].sort((a, b) => a - b).map((m) => m - 1), MONTHS.map((m) => m[0].toUpperCase() + m.slice(1))));
  return parts.join(" ");
}
