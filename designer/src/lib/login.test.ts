import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { loginFields, tenantChoice } from "./login";

describe("login", () => {
  it("sends the tenant only when one is given", () => {
    expect(loginFields("a@x.test", "pw")).toEqual({ username: "a@x.test", password: "pw" });
    expect(loginFields("a@x.test", "pw", "  ")).toEqual({ username: "a@x.test", password: "pw" });
    expect(loginFields("a@x.test", "pw", " acme ")).toEqual({ username: "a@x.test", password: "pw", tenant: "acme" });
  });

  it("recognises the API's choose-a-tenant answer", () => {
    const detail = { message: "this email belongs to several tenants: choose one", code: "tenant_required", tenants: ["acme", "beta"] };
    expect(tenantChoice(new ApiError(409, detail.message, detail))).toEqual(["acme", "beta"]);
    expect(tenantChoice(new ApiError(409, "exists", { message: "exists" }))).toBeNull();
    expect(tenantChoice(new ApiError(401, "incorrect email or password"))).toBeNull();
    expect(tenantChoice(new Error("x"))).toBeNull();
  });
});
