/** Output port names exactly as the engine names them (workflows/components.py `output_ports`). */
import type { ComponentSpec, JsonObject } from "./types";

/** Fallback when the palette (GET /api/v1/components) is not loaded: the built-in types. */
const BUILTIN_PORTS: Record<string, { ports: string[]; can_fail: boolean }> = {
  start: { ports: ["out"], can_fail: false },
  end: { ports: [], can_fail: false },
  terminate: { ports: [], can_fail: false },
  transform: { ports: ["out"], can_fail: true },
  set: { ports: ["out"], can_fail: true },
  decision: { ports: ["true", "false"], can_fail: true },
  switch: { ports: ["default"], can_fail: true },
  filter: { ports: ["out"], can_fail: true },
  parallel: { ports: ["out"], can_fail: false },
  join: { ports: ["out"], can_fail: false },
  loop: { ports: ["body", "done"], can_fail: true },
  map: { ports: ["out"], can_fail: true },
  subworkflow: { ports: ["out"], can_fail: true },
  wait: { ports: ["out"], can_fail: true },
  approval: { ports: ["approved", "rejected", "timeout"], can_fail: true },
};

/** The output ports of a node of `type` with `config`: switch cases then `default`; `error` last
 * for components that can fail. Mirrors ComponentSpec.output_ports. */
export function outputPorts(type: string, config: JsonObject | undefined, spec?: ComponentSpec): string[] {
  const base = spec ? { ports: spec.ports, can_fail: spec.can_fail } : BUILTIN_PORTS[type] ?? { ports: ["out"], can_fail: true };
  let ports = [...base.ports];
  if (type === "switch") {
    const cases = Array.isArray(config?.cases) ? config!.cases : [];
    const named = cases
      .filter((c: any) => c && typeof c === "object" && typeof c.port === "string" && c.port)
      .map((c: any) => c.port as string);
    ports = [...named, "default"];
  }
  if (base.can_fail) ports.push("error");
  return ports;
}

/** Whether a node of this type accepts incoming edges (everything but `start`). */
export function hasInput(type: string): boolean {
  return type !== "start";
}

/** A readable label for a port (the name itself; `out` is the plain output). */
export function portLabel(port: string): string {
  return port === "out" ? "" : port;
}
