import { describe, expect, it } from "vitest";
import { adoptSsoToken, ssoTokenFromHash } from "./sso";

describe("sso token hand-over", () => {
  it("reads the token from the fragment", () => {
    expect(ssoTokenFromHash("#sso_token=eyJ.abc.d-_")).toBe("eyJ.abc.d-_");
    expect(ssoTokenFromHash("#other=1")).toBeNull();
    expect(ssoTokenFromHash("#sso_token=<script>")).toBeNull();
  });

  it("stores it and clears the address bar", () => {
    const store: Record<string, string> = {};
    (globalThis as any).localStorage = { setItem: (k: string, v: string) => { store[k] = v; }, removeItem: () => {} };
    let replaced: string | undefined;
    const win = { location: { hash: "#sso_token=a.b.c", pathname: "/workflow_orchestration/", search: "" },
                  history: { replaceState: (_d: any, _u: string, url?: string) => { replaced = url; } } };
    expect(adoptSsoToken(win)).toBe(true);
    expect(store["wfo.token"]).toBe("a.b.c");
    expect(replaced).toBe("/workflow_orchestration/");
    expect(adoptSsoToken({ ...win, location: { ...win.location, hash: "" } })).toBe(false);
  });
});
