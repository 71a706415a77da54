/** Password login against POST /api/v1/auth/token: the form fields, and the API's "choose a tenant" answer.
 *
 * An email is unique per tenant, so one may have accounts in several tenants. The API then answers 409
 * with `detail.code === "tenant_required"` (only once the password opened one of them) and
 * `detail.tenants`: the tenants the password opened. The login form shows its tenant field then. */
import { ApiError } from "./api";

export const TENANT_REQUIRED = "tenant_required";

export function loginFields(email: string, password: string, tenant?: string): Record<string, string> {
  const fields: Record<string, string> = { username: email, password };
  const t = tenant?.trim();
  if (t) fields.tenant = t;
  return fields;
}

/** The tenants to choose from when `err` is the API's "this email belongs to several tenants" answer, else null. */
export function tenantChoice(err: unknown): string[] | null {
  if (!(err instanceof ApiError) || err.status !== 409) return null;
  const detail = err.detail;
  if (!detail || typeof detail !== "object" || detail.code !== TENANT_REQUIRED) return null;
  return Array.isArray(detail.tenants) ? detail.tenants.filter((t: unknown) => typeof t === "string") : [];
}
