import { describe, expect, it } from "vitest";
import { nextRuns, describeCron, parseCron, CronError } from "./cron";

const from = new Date("2026-12-01T10:07:30Z");
const iso = (ds: Date[]) => ds.map((d) => d.toISOString().slice(0, 16));

describe("cron preview", () => {
  it("every 15 minutes", () => {
    expect(iso(nextRuns("*/15 * * * *", from, 3))).toEqual(["2026-12-01T10:15", "2026-12-01T10:30", "2026-12-01T10:45"]);
    expect(describeCron("*/15 * * * *")).toBe("Every 15 minutes");
  });
  it("weekdays at 09:00 (1 Dec 2026 is a Tuesday)", () => {
    expect(iso(nextRuns("0 9 * * 1-5", from, 4))).toEqual(["2026-12-02T09:00", "2026-12-03T09:00", "2026-12-04T09:00", "2026-12-07T09:00"]);
    expect(describeCron("0 9 * * 1-5")).toBe("At 09:00 on Monday to Friday");
  });
  it("month rollover, names and macros", () => {
    expect(iso(nextRuns("30 6 1 jan *", from, 1))).toEqual(["2027-01-01T06:30"]);
    expect(iso(nextRuns("@daily", from, 2))).toEqual(["2026-12-02T00:00", "2026-12-03T00:00"]);
    expect(describeCron("0 0 * * sun")).toBe("At 00:00 on Sunday");
  });
  it("day of month OR day of week when both are set", () => {
    expect(iso(nextRuns("0 0 5 * 4", from, 2))).toEqual(["2026-12-03T00:00", "2026-12-05T00:00"]);
  });
  it("rejects malformed expressions with a reason", () => {
    expect(() => parseCron("* * *")).toThrow(CronError);
    expect(() => parseCron("61 * * * *")).toThrow(/minute/);
    expect(() => parseCron("* * * * mon/0")).toThrow(/step/);
  });
});
