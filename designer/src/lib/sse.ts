/** Server-Sent Events over fetch (so the bearer token goes in a header), with reconnection:
 * on a dropped connection it waits (1 s, 2 s, ... up to 15 s) and reconnects with `Last-Event-ID`
 * so no event is lost or repeated. Stops when `close()` is called or after an `execution.*` event. */
import { getToken } from "./api";

export interface SseEvent { id?: string; event: string; data: any }

export interface SseHandle { close(): void }

export function parseSse(chunk: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const blocks = chunk.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let id: string | undefined;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) continue;
      const idx = line.indexOf(":");
      const field = idx < 0 ? line : line.slice(0, idx);
      const value = idx < 0 ? "" : line.slice(idx + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) continue;
    let parsed: any = data.join("\n");
    try { parsed = JSON.parse(parsed); } catch { /* text */ }
    events.push({ id, event, data: parsed });
  }
  return { events, rest };
}

export function subscribe(
  url: string,
  onEvent: (e: SseEvent) => void,
  onState?: (state: "connected" | "reconnecting" | "closed", info?: string) => void,
): SseHandle {
  let closed = false;
  let lastId: string | undefined;
  let ctrl: AbortController | null = null;
  let delay = 1000;

  const run = async () => {
    while (!closed) {
      ctrl = new AbortController();
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream" };
        const token = getToken();
        if (token) headers.Authorization = `Bearer ${token}`;
        if (lastId) headers["Last-Event-ID"] = lastId;
        const res = await fetch(url, { headers, signal: ctrl.signal });
        if (res.status === 401 || res.status === 403 || res.status === 404) {
          onState?.("closed", `live updates unavailable (HTTP ${res.status})`);
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState?.("connected");
        delay = 1000;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buf = "";
        let finished = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true });
          const { events, rest } = parseSse(buf);
          buf = rest;
          for (const ev of events) {
            if (ev.id) lastId = ev.id;
            onEvent(ev);
            if (ev.event.startsWith("execution.")) finished = true;
          }
        }
        if (finished) {
          closed = true;
          onState?.("closed");
          return;
        }
      } catch (err: any) {
        if (closed || err?.name === "AbortError") return;
      }
      if (closed) return;
      onState?.("reconnecting", `reconnecting in ${Math.round(delay / 1000)} s`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  };
  run();
  return {
    close() {
      closed = true;
      ctrl?.abort();
    },
  };
}
