/** The REST client: bearer token, JSON in/out, readable errors.
 * Every failure becomes an ApiError whose `message` is fit to show next to what caused it;
 * a 401 on an authenticated call fires `onUnauthorized` (the app asks to log in again and keeps
 * unsaved canvas edits in a local draft). */
import type { Problem } from "./types";

export const API = "/api/v1";
const TOKEN_KEY = "wfo.token";

export class ApiError extends Error {
  status: number;
  detail: any;
  problems: Problem[];
  constructor(status: number, message: string, detail?: any, problems: Problem[] = []) {
    super(message);
    this.status = status;
    this.detail = detail;
    this.problems = problems;
  }
  /** The endpoint does not exist on this server (another part of the product not deployed yet). */
  get notAvailable(): boolean {
    return this.status === 404 && (this.detail === "Not Found" || this.detail === undefined);
  }
}

let unauthorized: (() => void) | null = null;
export function onUnauthorized(fn: () => void) {
  unauthorized = fn;
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
}
export function setToken(token: string | null) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else {
    localStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(TOKEN_KEY);
  }
}

function isProblem(x: any): x is Problem {
  return x && typeof x === "object" && typeof x.code === "string" && typeof x.message === "string";
}

/** Text of a FastAPI error body: a string detail, a problem list, or pydantic's error list. */
export function errorMessage(status: number, detail: any): { message: string; problems: Problem[] } {
  if (typeof detail === "string") return { message: detail, problems: [] };
  const list = Array.isArray(detail) ? detail : Array.isArray(detail?.problems) ? detail.problems : null;
  if (list) {
    const problems = list.filter(isProblem);
    const lines = list.slice(0, 5).map((d: any) => {
      if (isProblem(d)) return (d.node_id ? `node '${d.node_id}': ` : "") + d.message;
      const loc = Array.isArray(d?.loc) ? d.loc.filter((l: any) => l !== "body").join(".") : "";
      return (loc ? `${loc}: ` : "") + (d?.msg ?? JSON.stringify(d));
    });
    return { message: lines.join("; ") + (list.length > 5 ? ` (+${list.length - 5} more)` : ""), problems };
  }
  if (detail && typeof detail === "object") {
    const text = detail.message ?? detail.reason ?? detail.detail;
    if (typeof text === "string") return { message: text, problems: [] };
    return { message: JSON.stringify(detail).slice(0, 300), problems: [] };
  }
  const generic: Record<number, string> = {
    400: "the request was not accepted", 401: "please log in", 403: "you are not allowed to do this",
    404: "not found", 409: "conflict with the current state", 412: "someone else changed this meanwhile",
    413: "too large", 422: "invalid input", 429: "too many requests, try again shortly",
    500: "the server failed", 502: "the server is unreachable", 503: "a backing service is unavailable",
    504: "the server timed out",
  };
  return { message: generic[status] ?? `HTTP ${status}`, problems: [] };
}

export interface RequestOpts {
  method?: string;
  body?: any;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  raw?: boolean;
  signal?: AbortSignal;
}

export interface ApiResponse<T> { data: T; headers: Headers; status: number }

export async function request<T = any>(path: string, opts: RequestOpts = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { Accept: "application/json", ...(opts.headers ?? {}) };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (opts.form) {
    body = new URLSearchParams(opts.form);
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["Content-Type"] = "application/json";
  }
  let res: Response;
  try {
    res = await fetch(path.startsWith("/") ? path : `${API}/${path}`, { method: opts.method ?? "GET", headers, body, signal: opts.signal });
  } catch (err: any) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "cannot reach the server: check your connection");
  }
  const text = await res.text();
  let data: any = undefined;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!res.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : undefined;
    const { message, problems } = errorMessage(res.status, detail);
    if (res.status === 401 && token && unauthorized) unauthorized();
    throw new ApiError(res.status, message, detail, problems);
  }
  return { data: data as T, headers: res.headers, status: res.status };
}

export async function get<T = any>(path: string): Promise<T> {
  return (await request<T>(path)).data;
}
export async function post<T = any>(path: string, body?: any): Promise<T> {
  return (await request<T>(path, { method: "POST", body: body ?? {} })).data;
}
export async function put<T = any>(path: string, body?: any): Promise<T> {
  return (await request<T>(path, { method: "PUT", body })).data;
}
export async function del<T = any>(path: string): Promise<T> {
  return (await request<T>(path, { method: "DELETE" })).data;
}
