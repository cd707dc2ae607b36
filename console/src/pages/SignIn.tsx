import { useMutation } from "@urql/preact";
import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { ErrorMessage } from "../components/ErrorMessage";
import { publicError } from "../lib/errors";
import { Page } from "../components/Page";
import { startSession, takeEndedReason } from "../lib/session";
import { LoginMutation, RegisterMutation } from "../operations";

const PASSWORD_HINT = "At least 10 characters; not a common password, and not your e-mail address.";

/** Where to go after signing in: the page that sent you here, if it is one of ours. */
function nextPath(query: Record<string, string>): string {
  const next = query.next ?? "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/sign-") ? next : "/";
}

export function SignInPage() {
  const { query, route } = useLocation();
  const [ended] = useState(takeEndedReason);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [result, login] = useMutation(LoginMutation);

  async function submit(event: Event) {
    event.preventDefault();
    const reply = await login({ email: email.trim(), password });
    if (reply.data) {
      startSession(reply.data.login);
      route(nextPath(query), true);
    }
  }

  return (
    <div class="auth-card">
      <Page title="Sign in">
        {ended ? (
          <p class="notice" role="status">
            {ended}
          </p>
        ) : null}
        <form onSubmit={submit} class="stack">
          <label>
            E-mail
            <input type="email" name="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <label>
            Password
            <input
              type="password"
              name="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          {publicError(result.error)?.code === "UNAUTHENTICATED" ? (
            <p class="error" role="alert">
              The e-mail address or the password is not right.
            </p>
          ) : (
            <ErrorMessage error={result.error} />
          )}
          <button type="submit" disabled={result.fetching}>
            {result.fetching ? "Signing in…" : "Sign in"}
          </button>
        </form>
        <p>
          New here? <a href="/sign-up">Create an organization</a>
        </p>
      </Page>
    </div>
  );
}

export function SignUpPage() {
  const { route } = useLocation();
  const [fields, setFields] = useState({ organizationName: "", name: "", email: "", password: "" });
  const [result, register] = useMutation(RegisterMutation);
  const set = (key: keyof typeof fields) => (event: Event) =>
    setFields({ ...fields, [key]: (event.currentTarget as HTMLInputElement).value });

  async function submit(event: Event) {
    event.preventDefault();
    const reply = await register({
      organizationName: fields.organizationName.trim(),
      name: fields.name.trim() || null,
      email: fields.email.trim(),
      password: fields.password,
    });
    if (reply.data) {
      startSession(reply.data.register);
      route("/", true);
    }
  }

  return (
    <div class="auth-card">
      <Page title="Create an organization">
        <p>You become its administrator, and can add colleagues afterwards.</p>
        <form onSubmit={submit} class="stack">
          <label>
            Organization name
            <input name="organization" required autocomplete="organization" value={fields.organizationName} onInput={set("organizationName")} />
          </label>
          <label>
            Your name
            <input name="name" autocomplete="name" value={fields.name} onInput={set("name")} />
          </label>
          <label>
            E-mail
            <input type="email" name="email" autocomplete="username" required value={fields.email} onInput={set("email")} />
          </label>
          <label>
            Password
            <input
              type="password"
              name="password"
              autocomplete="new-password"
              required
              aria-describedby="password-hint"
              value={fields.password}
              onInput={set("password")}
            />
          </label>
          <p id="password-hint" class="hint">
            {PASSWORD_HINT}
          </p>
          <ErrorMessage error={result.error} />
          <button type="submit" disabled={result.fetching}>
            {result.fetching ? "Creating…" : "Create organization"}
          </button>
        </form>
        <p>
          Already have an account? <a href="/sign-in">Sign in</a>
        </p>
      </Page>
    </div>
  );
}
