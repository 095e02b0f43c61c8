// Sign in with user, password and project (domain Default). After an expiry the hash route is
// kept, so the user lands back where they were.
import { FormEvent, useState } from "react";
import { ApiError, errorText } from "../api/errors";
import { ErrorNote } from "../components/ErrorNote";
import { Field } from "../components/Field";
import { CielLogo } from "../components/Icon";
import { lastUser, useSession } from "../session";

export function LoginPage() {
  const { login, notice } = useSession();
  const remembered = lastUser();
  const [user, setUser] = useState(remembered.user || "");
  const [password, setPassword] = useState("");
  const [project, setProject] = useState(remembered.project || "");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (!user.trim()) errs.user = "Enter your user name.";
    if (!password) errs.password = "Enter your password.";
    if (!project.trim()) errs.project = "Enter the project to work in.";
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    setError(null);
    try {
      await login(user.trim(), password, project.trim());
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? "Sign-in failed: the user name, password or project is not right."
          : errorText(err),
      );
      setBusy(false);
    }
  };

  return (
    <div className="login-screen">
      <div className="login-art" aria-hidden="true">
        <div className="login-art-text">
          <CielLogo size={52} />
          <h1>Ciel</h1>
          <p>Your private cloud: virtual machines, networks, images and volumes on your own hardware, through the OpenStack APIs.</p>
        </div>
      </div>
      <form className="login-card" onSubmit={submit} noValidate data-testid="login-form">
        <h2>Sign in</h2>
        <p className="muted">Domain: Default</p>
        {notice && <div className="notice">{notice}</div>}
        <Field label="User name" htmlFor="login-user" error={errors.user}>
          <input id="login-user" name="username" autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} autoFocus={!remembered.user} />
        </Field>
        <Field label="Password" htmlFor="login-password" error={errors.password}>
          <input id="login-password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus={!!remembered.user} />
        </Field>
        <Field label="Project" htmlFor="login-project" error={errors.project}>
          <input id="login-project" name="project" value={project} onChange={(e) => setProject(e.target.value)} />
        </Field>
        <ErrorNote message={error} />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
