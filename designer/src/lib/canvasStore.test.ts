import { beforeEach, describe, expect, it } from "vitest";
import { useCanvas, undo, redo, resetHistory, beginGesture, endGesture } from "./canvasStore";
import { toCanvas } from "./mapping";

function reset() {
  const c = toCanvas({ nodes: [{ id: "start", type: "start", position: { x: 0, y: 0 } }, { id: "end", type: "end", position: { x: 300, y: 0 } }], edges: [] });
  useCanvas.getState().load(c.nodes, c.edges, c.extra);
  resetHistory();
}
const ids = () => useCanvas.getState().nodes.map((n) => n.id);

describe("undo / redo", () => {
  beforeEach(reset);
  it("undoes and redoes add, connect and delete, one step each", () => {
    const s = useCanvas.getState();
    s.addNode({ id: "t", type: "wfo", position: { x: 100, y: 0 }, data: { type: "transform", config: {}, extra: {} } });
    useCanvas.getState().connect("start", "out", "t");
    expect(useCanvas.getState().edges).toHaveLength(1);
    undo();
    expect(useCanvas.getState().edges).toHaveLength(0);
    expect(ids()).toEqual(["start", "end", "t"]);
    undo();
    expect(ids()).toEqual(["start", "end"]);
    redo();
    redo();
    expect(ids()).toEqual(["start", "end", "t"]);
    expect(useCanvas.getState().edges[0]).toMatchObject({ source: "start", target: "t", sourceHandle: "out" });
    useCanvas.getState().onNodesChange([{ type: "select", id: "t", selected: true }]);
    useCanvas.getState().deleteSelected();
    expect(ids()).toEqual(["start", "end"]);
    expect(useCanvas.getState().edges).toHaveLength(0);
    undo();
    expect(ids()).toEqual(["start", "end", "t"]);
    expect(useCanvas.getState().edges).toHaveLength(1);
  });
  it("selection alone is not an undo step", () => {
    useCanvas.getState().selectAll();
    expect(useCanvas.temporal.getState().pastStates).toHaveLength(0);
  });
  it("a drag is one step however many moves", () => {
    beginGesture();
    for (let i = 1; i <= 5; i++) useCanvas.getState().onNodesChange([{ type: "position", id: "end", position: { x: 300 + i * 10, y: 0 }, dragging: true }]);
    useCanvas.getState().onNodesChange([{ type: "position", id: "end", position: { x: 400, y: 5 }, dragging: false }]);
    endGesture();
    expect(useCanvas.getState().nodes[1].position).toEqual({ x: 400, y: 5 });
    undo();
    expect(useCanvas.getState().nodes[1].position).toEqual({ x: 300, y: 0 });
    redo();
    expect(useCanvas.getState().nodes[1].position).toEqual({ x: 400, y: 5 });
  });
  it("copy/paste duplicates the selection with fresh ids and inner edges", () => {
    useCanvas.getState().connect("start", "out", "end");
    useCanvas.getState().selectAll();
    useCanvas.getState().copySelected();
    useCanvas.getState().paste();
    const s = useCanvas.getState();
    expect(s.nodes.map((n) => n.id)).toEqual(["start", "end", "start_2", "end_2"]);
    expect(s.edges.map((e) => [e.source, e.target])).toEqual([["start", "end"], ["start_2", "end_2"]]);
    undo();
    expect(ids()).toEqual(["start", "end"]);
  });
  it("deleting a node removes its edges and keeps edge ids in definition order", () => {
    const s = useCanvas.getState();
    s.addNode({ id: "t", type: "wfo", position: { x: 100, y: 0 }, data: { type: "transform", config: {}, extra: {} } });
    useCanvas.getState().connect("start", "out", "t");
    useCanvas.getState().connect("t", "out", "end");
    useCanvas.getState().onNodesChange([{ type: "remove", id: "t" }]);
    expect(useCanvas.getState().edges).toEqual([]);
  });
});
