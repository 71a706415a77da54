/** Who is logged in, and what they may do (from GET /api/v1/auth/me `permissions`). */
import { create } from "zustand";
import { get, request, setToken, getToken, onUnauthorized } from "./api";
import { loginFields } from "./login";
import type { ComponentSpec, Me } from "./types";
import { adoptSsoToken } from "./sso";

adoptSsoToken(); // back from single sign-on: the token is in the URL fragment (before `loading` is computed)

interface SessionState {
  me: Me | null;
  expired: boolean;
  loading: boolean;
  specs: Record<string, ComponentSpec>;
  categories: string[];
  specsError: string | null;
  /** `tenant` (a tenant name) picks the account when the email has accounts in several tenants. */
  login(email: string, password: string, tenant?: string): Promise<void>;
  logout(): void;
  load(): Promise<void>;
  loadSpecs(): Promise<void>;
}

export const useSession = create<SessionState>((set, getState) => ({
  me: null,
  expired: false,
  loading: !!getToken(),
  specs: {},
  categories: [],
  specsError: null,
  async login(email, password, tenant) {
    const { data } = await request<{ access_token: string }>("auth/token", { method: "POST", form: loginFields(email, password, tenant) });
    setToken(data.access_token);
    set({ expired: false });
    await getState().load();
  },
  logout() {
    setToken(null);
    set({ me: null, expired: false });
  },
  async load() {
    if (!getToken()) { set({ loading: false }); return; }
    set({ loading: true });
    try {
      const me = await get<Me>("auth/me");
      set({ me, loading: false });
      getState().loadSpecs();
    } catch {
      set({ me: null, loading: false });
    }
  },
  async loadSpecs() {
    try {
      const res = await get<{ items: ComponentSpec[]; categories: string[] }>("components");
      set({ specs: Object.fromEntries(res.items.map((s) => [s.type, s])), categories: res.categories, specsError: null });
    } catch (err: any) {
      set({ specsError: err.message ?? String(err) });
    }
  },
}));

onUnauthorized(() => {
  setToken(null);
  useSession.setState({ expired: true });
});

export function can(me: Me | null, permission: string): boolean {
  return !!me && me.permissions.includes(permission);
}
export const PERM = {
  create: "workflow.create",
  edit: "workflow.edit",
  del: "workflow.delete",
  execute: "workflow.execute",
  admin: "admin.system",
};
