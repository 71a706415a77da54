import { describe, expect, it } from "vitest";
import { completionsFor, upstream } from "./completion";
import type { ComponentSpec } from "./types";

const graph = {
  nodes: [
    { id: "start", type: "start", config: { input_schema: { type: "object", properties: { amount: {}, customer: {} } } } },
    { id: "vars1", type: "set", config: { values: { region: "eu" } } },
    { id: "ok", type: "approval", config: {} },
    { id: "t", type: "transform", config: {}, pinned: { total: 3 } },
    { id: "here", type: "end", config: {} },
    { id: "after", type: "end", config: {} },
  ],
  edges: [
    { source: "start", target: "vars1" }, { source: "vars1", target: "ok" }, { source: "ok", target: "t" },
    { source: "t", target: "here" }, { source: "here", target: "after" },
  ],
};
const specs = { approval: { output_schema: { properties: { decision: {}, comment: {} } } } } as unknown as Record<string, ComponentSpec>;

describe("expression completions", () => {
  it("only upstream nodes", () => {
    expect(upstream(graph, "here")).toEqual(["start", "vars1", "ok", "t"]);
  });
  it("roots, input fields, vars, node ids and output fields", () => {
    expect(completionsFor("in", graph, "here", specs).map((c) => c.label)).toEqual(["input", "vars", "nodes"]);
    expect(completionsFor("input.", graph, "here", specs).map((c) => c.label)).toEqual(["amount", "customer"]);
    expect(completionsFor("vars.", graph, "here", specs).map((c) => c.label)).toEqual(["region"]);
    expect(completionsFor("nodes.", graph, "here", specs).map((c) => c.label)).toEqual(["start", "vars1", "ok", "t"]);
    expect(completionsFor("nodes.ok.", graph, "here", specs).map((c) => c.label)).toEqual(["decision", "comment"]);
    expect(completionsFor("nodes.t.", graph, "here", specs).map((c) => c.label)).toEqual(["total"]);
    expect(completionsFor("nodes.after.", graph, "here", specs)).toEqual([]);
  });
});
