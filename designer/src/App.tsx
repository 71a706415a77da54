import { lazy, Suspense, useEffect, useState, type FormEvent } from "react";
import { NavLink, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { tenantChoice } from "./lib/login";
import { useSession, can, PERM } from "./lib/session";
import { ErrorBox } from "./ui/common";
import { get } from "./lib/api";
import type { SsoConfig } from "./lib/sso";
import { Dashboard } from "./pages/Dashboard";
import { Library } from "./pages/Library";
// the canvas, the forms and the editor are loaded when first needed: the dashboard stays light on a phone
const DesignerPage = lazy(() => import("./pages/Designer").then((m) => ({ default: m.DesignerPage })));
const Templates = lazy(() => import("./pages/Templates").then((m) => ({ default: m.Templates })));
const Inbox = lazy(() => import("./pages/Inbox").then((m) => ({ default: m.Inbox })));
const Credentials = lazy(() => import("./pages/Credentials").then((m) => ({ default: m.Credentials })));
import { Executions, ExecutionDetailPage } from "./pages/Executions";
import { Triggers } from "./pages/Triggers";

export function LoginForm({ onDone, testid = "login-form" }: { onDone?: () => void; testid?: string }) {
  const login = useSession((s) => s.login);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [tenant, setTenant] = useState("");
  // the tenants to choose from, once the API said this email belongs to several (null: no tenant field)
  const [tenants, setTenants] = useState<string[] | null>(null);
  const [error, setError] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email, password, tenants ? tenant : undefined);
      onDone?.();
    } catch (err) {
      const choice = tenantChoice(err);
      if (choice) {
        setTenants(choice);
        if (!tenant && choice.length) setTenant(choice[0]);
      }
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="login-form" data-testid={testid}>
      <label>Email<input data-testid="login-email" type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required /></label>
      <label>Password<input data-testid="login-password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
      {tenants && (
        <label>Tenant<input data-testid="login-tenant" list="login-tenants" autoComplete="organization" value={tenant} onChange={(e) => setTenant(e.target.value)} required />
          <datalist id="login-tenants">{tenants.map((t) => <option key={t} value={t} />)}</datalist>
        </label>
      )}
      <ErrorBox error={error} testid="login-error" />
      <button className="primary" type="submit" disabled={busy} data-testid="login-submit">{busy ? "Signing in…" : "Sign in"}</button>
    </form>
  );
}

/** "Sign in with SSO", shown only when the API says single sign-on is configured. */
function SsoButton() {
  const [config, setConfig] = useState<SsoConfig | null>(null);
  useEffect(() => {
    let live = true;
    get<SsoConfig>("auth/oidc/config").then((c) => { if (live) setConfig(c); }).catch(() => {});
    return () => { live = false; };
  }, []);
  if (!config?.enabled || !config.login_url) return null;
  return (
    <div className="sso-login">
      <div className="muted sso-or">or</div>
      <a className="button" href={config.login_url} data-testid="login-sso">Sign in with SSO</a>
    </div>
  );
}

function LoginPage() {
  const me = useSession((s) => s.me);
  const loc = useLocation() as any;
  if (me) return <Navigate to={loc.state?.from ?? "/"} replace />;
  return (
    <div className="login-page">
      <div className="login-card">
        <h1><span className="logo">◆</span> wfo</h1>
        <p className="muted">Durable workflow orchestration</p>
        <LoginForm />
        <SsoButton />
      </div>
    </div>
  );
}

function SessionExpired() {
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" data-testid="session-expired">
        <div className="modal-head"><h2>Your session expired</h2></div>
        <div className="modal-body">
          <p>Sign in again to continue. Unsaved changes on the canvas are kept.</p>
          <LoginForm testid="relogin-form" />
        </div>
      </div>
    </div>
  );
}

function Shell() {
  const me = useSession((s) => s.me)!;
  const logout = useSession((s) => s.logout);
  const [open, setOpen] = useState(false);
  const loc = useLocation();
  useEffect(() => setOpen(false), [loc.pathname]);
  const link = (to: string, label: string, testid: string) => (
    <NavLink to={to} end={to === "/"} data-testid={testid}>{label}</NavLink>
  );
  return (
    <div className="shell">
      <header className="topbar">
        <button className="icon menu-toggle" aria-label="menu" data-testid="menu-toggle" onClick={() => setOpen(!open)}>☰</button>
        <span className="brand"><span className="logo">◆</span> wfo</span>
        <nav className={open ? "open" : ""} data-testid="nav">
          {link("/", "Dashboard", "nav-dashboard")}
          {link("/workflows", "Workflows", "nav-workflows")}
          {link("/executions", "Executions", "nav-executions")}
          {link("/inbox", "Inbox", "nav-inbox")}
          {link("/templates", "Templates", "nav-templates")}
          {link("/settings/credentials", "Credentials", "nav-credentials")}
        </nav>
        <span className="user" data-testid="current-user" title={me.role}>
          <span className="avatar">{(me.name || "?")[0].toUpperCase()}</span>
          <span className="user-name">{me.name}</span> <span className="role" data-testid="current-role">{me.role}</span>
          <button className="link" onClick={logout} data-testid="logout">Sign out</button>
        </span>
      </header>
      <main>
        <Suspense fallback={<div className="loading">Loading…</div>}>
        <Routes>
          <Route path="/" element={<Dashboard />} />
          <Route path="/workflows" element={<Library />} />
          <Route path="/workflows/:id" element={<DesignerPage />} />
          <Route path="/workflows/:id/triggers" element={<Triggers />} />
          <Route path="/executions" element={<Executions />} />
          <Route path="/executions/:id" element={<ExecutionDetailPage />} />
          <Route path="/inbox" element={<Inbox />} />
          <Route path="/templates" element={<Templates />} />
          <Route path="/settings/credentials" element={<Credentials />} />
          <Route path="*" element={<div className="page"><h1>Not found</h1><p>This page does not exist. <NavLink to="/">Go to the dashboard</NavLink>.</p></div>} />
        </Routes>
        </Suspense>
      </main>
    </div>
  );
}

export function App() {
  const { me, loading, expired, load } = useSession();
  const loc = useLocation();
  useEffect(() => { load(); }, [load]);
  if (loading) return <div className="loading" data-testid="app-loading">Loading…</div>;
  if (loc.pathname === "/login") return <LoginPage />;
  if (!me && !expired) return <Navigate to="/login" replace state={{ from: loc.pathname + loc.search }} />;
  return (
    <>
      {me ? <Shell /> : null}
      {expired ? <SessionExpired /> : null}
    </>
  );
}

export { can, PERM };
