import { describe, expect, it } from "vitest";
import { outputPorts, hasInput } from "./ports";
import type { ComponentSpec } from "./types";

describe("port naming per node type (as the engine names them)", () => {
  it("built-in types without the palette", () => {
    expect(outputPorts("start", {})).toEqual(["out"]);
    expect(outputPorts("end", {})).toEqual([]);
    expect(outputPorts("decision", {})).toEqual(["true", "false", "error"]);
    expect(outputPorts("loop", {})).toEqual(["body", "done", "error"]);
    expect(outputPorts("approval", {})).toEqual(["approved", "rejected", "timeout", "error"]);
    expect(outputPorts("parallel", {})).toEqual(["out"]);
    expect(outputPorts("http.request", {})).toEqual(["out", "error"]);
  });
  it("switch: one port per named case, then default, then error", () => {
    expect(outputPorts("switch", { cases: [{ port: "a" }, { port: "" }, { value: 1 }, { port: "b" }] })).toEqual(["a", "b", "default", "error"]);
    expect(outputPorts("switch", {})).toEqual(["default", "error"]);
  });
  it("follows the palette spec when given", () => {
    const spec = { type: "x", ports: ["one", "two"], can_fail: false } as unknown as ComponentSpec;
    expect(outputPorts("x", {}, spec)).toEqual(["one", "two"]);
  });
  it("start has no input", () => {
    expect(hasInput("start")).toBe(false);
    expect(hasInput("end")).toBe(true);
  });
});
