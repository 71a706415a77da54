/** Single sign-on (OpenID Connect): the API's callback sends the browser back to the app with the access
 * token in the URL fragment (`#sso_token=...`; a fragment never reaches a server nor a Referer). The app
 * stores it like a password login's token and removes it from the address bar before anything renders. */
import { setToken } from "./api";

export const SSO_PARAM = "sso_token";

/** The token carried by a fragment like `#sso_token=...` (other fragment parameters are ignored). */
export function ssoTokenFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  const token = params.get(SSO_PARAM);
  return token && /^[A-Za-z0-9_.-]+$/.test(token) ? token : null;
}

/** Takes an SSO token out of the current URL (if any) into the token store; true when it did. */
export function adoptSsoToken(win: { location: { hash: string; pathname: string; search: string }; history: { replaceState(data: any, unused: string, url?: string): void } } | undefined =
  typeof window === "undefined" ? undefined : window): boolean {
  if (!win || !win.location.hash.includes(SSO_PARAM + "=")) return false;
  const token = ssoTokenFromHash(win.location.hash);
  win.history.replaceState(null, "", win.location.pathname + win.location.search);
  if (!token) return false;
  setToken(token);
  return true;
}

export interface SsoConfig { enabled: boolean; login_url?: string }
