import { describe, expect, it } from "vitest";
import { toCanvas, toDefinition, newNodeId } from "./mapping";
import type { Definition } from "./types";

const def: Definition = {
  schema_version: 1,
  nodes: [
    { id: "start", type: "start", config: { input_schema: { type: "object" } }, position: { x: 0, y: 10 } },
    { id: "big", type: "decision", name: "Big?", config: { condition: "input.amount > 10" }, position: { x: 240, y: 10 }, retry: { max_attempts: 2 } },
    { id: "yes", type: "transform", config: { expression: "1" }, position: { x: 480, y: 0 } },
    { id: "no", type: "transform", config: { expression: "2" } },
    { id: "end", type: "end" },
  ],
  edges: [
    { source: "start", target: "big" },
    { source: "big", target: "yes", source_port: "true" },
    { source: "big", target: "no", source_port: "false", label: "kept" },
    { source: "yes", target: "end", source_port: "out" },
    { source: "no", target: "end" },
  ],
  notes: [{ id: "note_1", text: "hello", position: { x: 5, y: 300 }, width: 220, height: 100, color: "blue" }],
  pin_data: { yes: { sample: 1 } },
  description: "kept at top level",
};

describe("definition -> canvas", () => {
  const c = toCanvas(def);
  it("keeps node ids, types, positions and config", () => {
    const big = c.nodes.find((n) => n.id === "big")!;
    expect(big.type).toBe("wfo");
    expect(big.position).toEqual({ x: 240, y: 10 });
    expect(big.data).toMatchObject({ type: "decision", name: "Big?", config: { condition: "input.amount > 10" }, extra: { retry: { max_attempts: 2 } } });
  });
  it("places nodes without a position on a grid, never on top of each other", () => {
    const no = c.nodes.find((n) => n.id === "no")!;
    const end = c.nodes.find((n) => n.id === "end")!;
    expect(no.position).not.toEqual(end.position);
  });
  it("maps ports to source handles, in edge order", () => {
    expect(c.edges.map((e) => e.sourceHandle)).toEqual(["out", "true", "false", "out", "out"]);
    expect(c.edges.every((e) => e.targetHandle === "in")).toBe(true);
    expect(new Set(c.edges.map((e) => e.id)).size).toBe(5);
  });
  it("turns notes into note nodes and pin data into node data", () => {
    const note = c.nodes.find((n) => n.id === "note_1")!;
    expect(note.type).toBe("note");
    expect(note.data).toEqual({ text: "hello", color: "blue" });
    expect(note.width).toBe(220);
    expect((c.nodes.find((n) => n.id === "yes")!.data as any).pinned).toEqual({ sample: 1 });
  });
});

describe("canvas -> definition", () => {
  it("round-trips everything (positions filled in)", () => {
    const back = toDefinition(toCanvas(def));
    expect(back.nodes.map((n) => n.id)).toEqual(["start", "big", "yes", "no", "end"]);
    expect(back.nodes[1]).toEqual({ id: "big", type: "decision", name: "Big?", config: { condition: "input.amount > 10" }, retry: { max_attempts: 2 }, position: { x: 240, y: 10 } });
    expect(back.edges).toEqual([
      { source: "start", target: "big", source_port: "out" },
      { source: "big", target: "yes", source_port: "true" },
      { source: "big", target: "no", source_port: "false", label: "kept" },
      { source: "yes", target: "end", source_port: "out" },
      { source: "no", target: "end", source_port: "out" },
    ]);
    expect(back.notes).toEqual(def.notes);
    expect(back.pin_data).toEqual({ yes: { sample: 1 } });
    expect(back.description).toBe("kept at top level");
    expect(back.nodes[4].config).toEqual({});
    expect(typeof back.nodes[3].position!.x).toBe("number");
  });
  it("is stable: canvas -> definition -> canvas -> definition", () => {
    const once = toDefinition(toCanvas(def));
    expect(toDefinition(toCanvas(once))).toEqual(once);
  });
  it("rounds dragged positions and reads a resized note's size", () => {
    const c = toCanvas(def);
    c.nodes[0].position = { x: 10.6, y: -3.2 };
    const note = c.nodes.find((n) => n.id === "note_1")!;
    delete note.width; delete note.height; note.measured = { width: 300, height: 150 };
    const back = toDefinition(c);
    expect(back.nodes[0].position).toEqual({ x: 11, y: -3 });
    expect(back.notes![0]).toMatchObject({ width: 300, height: 150 });
  });
  it("omits empty notes and pin data", () => {
    const back = toDefinition(toCanvas({ nodes: [{ id: "start", type: "start" }], edges: [] }));
    expect(back).not.toHaveProperty("notes");
    expect(back).not.toHaveProperty("pin_data");
  });
});

describe("new node ids", () => {
  it("derives a free id from the type", () => {
    expect(newNodeId("decision", ["start"])).toBe("decision");
    expect(newNodeId("decision", ["decision", "decision_2"])).toBe("decision_3");
    expect(newNodeId("http.request", [])).toBe("http_request");
  });
});
