import { afterEach, describe, expect, it, vi } from "vitest";
import { parseSse, subscribe, type SseEvent } from "./sse";

describe("SSE parsing", () => {
  it("splits events, keeps the incomplete tail, skips comments", () => {
    const { events, rest } = parseSse(': keep-alive\n\nid: 3\nevent: node.started\ndata: {"node_id":"a"}\n\nid: 4\nevent: node.comp');
    expect(events).toEqual([{ id: "3", event: "node.started", data: { node_id: "a" } }]);
    expect(rest).toBe("id: 4\nevent: node.comp");
  });
});

function streamOf(chunks: string[], thenFail = false): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const queue = [...chunks];
  return new ReadableStream({
    pull(c) {
      const next = queue.shift();
      if (next !== undefined) c.enqueue(enc.encode(next));
      else if (thenFail) c.error(new Error("connection reset"));
      else c.close();
    },
  });
}

describe("SSE reconnect", () => {
  afterEach(() => vi.unstubAllGlobals());
  it("reconnects after a dropped stream with Last-Event-ID and stops after execution.*", async () => {
    vi.useFakeTimers();
    (globalThis as any).sessionStorage = { getItem: () => null, removeItem: () => undefined };
    (globalThis as any).localStorage = { getItem: () => "tok", removeItem: () => undefined, setItem: () => undefined };
    const calls: Record<string, string>[] = [];
    const fetchMock = vi.fn(async (_url: string, init: any) => {
      calls.push(init.headers);
      if (calls.length === 1) return new Response(streamOf(['id: 1\nevent: node.started\ndata: {"node_id":"a"}\n\n'], true));
      return new Response(streamOf(['id: 2\nevent: node.completed\ndata: {"node_id":"a"}\n\n', 'id: 3\nevent: execution.completed\ndata: {}\n\n']));
    });
    vi.stubGlobal("fetch", fetchMock);
    const got: SseEvent[] = [];
    const states: string[] = [];
    subscribe("/api/v1/executions/x/events", (e) => got.push(e), (s) => states.push(s));
    await vi.advanceTimersByTimeAsync(5000);
    vi.useRealTimers();
    expect(got.map((e) => e.event)).toEqual(["node.started", "node.completed", "execution.completed"]);
    expect(calls).toHaveLength(2);
    expect(calls[0].Authorization).toBe("Bearer tok");
    expect(calls[0]["Last-Event-ID"]).toBeUndefined();
    expect(calls[1]["Last-Event-ID"]).toBe("1");
    expect(states).toEqual(["connected", "reconnecting", "connected", "closed"]);
  });
});
